// Contract checks against the tunnel service's OpenAPI 3.1 document
// (tests/contract/openapi.json, a copy of the project's contract). OpenAPI
// 3.1 schemas are JSON Schema 2020-12, so ajv/dist/2020 validates them.
//
// usage:
//   node validate.mjs BODIES.json
//       BODIES.json holds a JSON array of the bodies tunnel-client POSTed to
//       /v1/tunnels/{id}/response (what the dev control plane's
//       /_dev/responses returns). Each must match the requestBody schema of
//       that operation; a synthesized failure's error.data.tunnel_failure
//       must also match the published x-tunnel-failure-schema. A body the
//       control plane could not parse is recorded as {"_invalid_body": ...}
//       and fails. An empty array passes (the caller decides whether
//       nothing posted is right).
//   node validate.mjs --wire DIR
//       The wire fixtures in DIR: poll_command_envelope.json against the
//       poll operation's 200 schema, jsonrpc_notify_response.json against
//       the response requestBody schema. Then a self-check: known-bad
//       bodies must be rejected, so a validator that accepts everything
//       fails here.
// Prints one line per failure and exits 1 on any; 2 on usage errors.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';

const here = dirname(fileURLToPath(import.meta.url));
const DOC_ID = 'https://tunnel-client.invalid/contract/openapi.json';
const RESPONSE_PATH = '/v1/tunnels/{tunnel_id}/response';
const POLL_PATH = '/v1/tunnels/{tunnel_id}/poll';

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`validate: cannot read JSON from ${file}: ${e.message}`);
    process.exit(2);
  }
}

const doc = readJson(join(here, 'openapi.json'));
// strict: false because an OpenAPI document carries keywords JSON Schema
// does not define (example, discriminator, x-*); they are annotations.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('password', true); // an OpenAPI UI hint, any string
ajv.addSchema(doc, DOC_ID);

// The schema at `pointer` inside the document, following one $ref.
function operationSchema(pointer, what) {
  let node = doc;
  for (const key of pointer) {
    node = node?.[key];
  }
  if (node === undefined) {
    console.error(`validate: openapi.json has no ${what} (${pointer.join(' > ')})`);
    process.exit(2);
  }
  const ref = node.$ref;
  return ref ? ajv.compile({ $ref: DOC_ID + ref }) : ajv.compile(node);
}

const validateResponse = operationSchema(
  ['paths', RESPONSE_PATH, 'post', 'requestBody', 'content', 'application/json', 'schema'],
  `POST ${RESPONSE_PATH} request body schema`,
);
const validatePoll = operationSchema(
  ['paths', POLL_PATH, 'get', 'responses', '200', 'content', 'application/json', 'schema'],
  `GET ${POLL_PATH} 200 schema`,
);
const failureSchema =
  doc.components?.schemas?.TunnelResponsePayload?.properties?.resp_json?.['x-tunnel-failure-schema'];
if (!failureSchema) {
  console.error('validate: openapi.json has no x-tunnel-failure-schema on resp_json');
  process.exit(2);
}
const { $schema: _ignored, ...failureBody } = failureSchema;
const validateFailure = ajv.compile(failureBody);

function explain(v) {
  return (v.errors || [])
    .map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('; ');
}

// Problems with one posted body, [] when it is valid.
function checkResponseBody(body) {
  const problems = [];
  if (!validateResponse(body)) {
    problems.push(`TunnelResponsePayload: ${explain(validateResponse)}`);
  }
  const tf = body?.resp_json?.error?.data?.tunnel_failure;
  if (tf !== undefined && !validateFailure(tf)) {
    problems.push(`error.data.tunnel_failure: ${explain(validateFailure)}`);
  }
  return problems;
}

function describe(body) {
  const rid = body && typeof body === 'object' ? body.request_id : undefined;
  const type = body && typeof body === 'object' ? body.resp_type : undefined;
  return `request_id=${rid ?? '?'} resp_type=${type ?? '(default)'}`;
}

function validateBodies(file) {
  const bodies = readJson(file);
  if (!Array.isArray(bodies)) {
    console.error(`validate: ${file} must hold a JSON array of posted bodies`);
    return 2;
  }
  let bad = 0;
  bodies.forEach((body, i) => {
    const problems = checkResponseBody(body);
    for (const p of problems) {
      console.error(`FAIL body #${i} (${describe(body)}): ${p}`);
    }
    if (problems.length > 0) bad++;
  });
  console.log(`contract: ${bodies.length - bad}/${bodies.length} posted bodies valid`);
  return bad === 0 ? 0 : 1;
}

function validateWire(dir) {
  let bad = 0;
  const check = (name, ok, v) => {
    if (!ok) {
      console.error(`FAIL ${name}: ${explain(v)}`);
      bad++;
    }
  };
  const poll = readJson(join(dir, 'poll_command_envelope.json'));
  check('poll_command_envelope.json', validatePoll(poll), validatePoll);
  if (!Array.isArray(poll.commands) || poll.commands.length === 0) {
    console.error('FAIL poll_command_envelope.json: no commands to check');
    bad++;
  }
  const notify = readJson(join(dir, 'jsonrpc_notify_response.json'));
  const problems = checkResponseBody(notify);
  for (const p of problems) console.error(`FAIL jsonrpc_notify_response.json: ${p}`);
  if (problems.length > 0) bad++;

  // Self-check: each of these breaks one rule of the contract.
  const mustFail = {
    'no resp_code': { request_id: 'r1', resp_type: 'notify_ack' },
    'unknown field': { request_id: 'r1', resp_code: 200, shard_token: 'x' },
    'unknown resp_type': { request_id: 'r1', resp_code: 200, resp_type: 'bogus' },
    'resp_json not an object': { request_id: 'r1', resp_code: 200, resp_json: [1] },
    'header values not strings': { request_id: 'r1', resp_code: 200, resp_headers: { A: 'b' } },
    'tunnel_failure without source': {
      request_id: 'r1',
      resp_code: 502,
      resp_json: {
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32603, message: 'Bad Gateway', data: { tunnel_failure: { version: 1 } } },
      },
    },
  };
  for (const [name, body] of Object.entries(mustFail)) {
    if (checkResponseBody(body).length === 0) {
      console.error(`FAIL self-check: a body with ${name} was accepted`);
      bad++;
    }
  }
  const pollBad = { commands: [{ request_id: 'r', command_type: 'jsonrpc' }] };
  if (validatePoll(pollBad)) {
    console.error('FAIL self-check: a poll command without shard_token was accepted');
    bad++;
  }
  console.log(bad === 0 ? 'contract: wire fixtures valid, self-check ok' : `contract: ${bad} failure(s)`);
  return bad === 0 ? 0 : 1;
}

const args = process.argv.slice(2);
if (args.length === 2 && args[0] === '--wire') {
  process.exit(validateWire(args[1]));
} else if (args.length === 1 && !args[0].startsWith('-')) {
  process.exit(validateBodies(args[0]));
} else {
  console.error('usage: node validate.mjs BODIES.json | node validate.mjs --wire DIR');
  process.exit(2);
}
