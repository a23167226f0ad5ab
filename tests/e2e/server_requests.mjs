// Through the tunnel (HTTP binding) to sdk_server.mjs, with the official
// SDK client: a tool whose server asks the client something on the
// session's standalone stream (sampling, elicitation) must end at once with
// the server's own error text — the tunnel answers the request — instead
// of waiting for the call's deadline; and SSE answers (the SDK server's
// only kind) reuse connections: 100 calls, 4 at a time, open at most 4.
//
// usage: node server_requests.mjs --tunnel URL --deadline-ms N --conns FILE
//   --deadline-ms: the tunnel's response timeout (dev proxy
//   --response-timeout); FILE: sdk_server.mjs's connection count.
// Prints one line per step with its latency; exit 0 when all hold.
import fs from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const tunnel = opt("--tunnel");
const deadlineMs = Number(opt("--deadline-ms") || 10000);
const connsFile = opt("--conns");
if (!tunnel || !connsFile) {
  console.error("usage: server_requests.mjs --tunnel URL --deadline-ms N --conns FILE");
  process.exit(2);
}

let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed++;
};

const client = new Client({ name: "server-requests-test", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: { form: {} } } });
await client.connect(new StreamableHTTPClientTransport(new URL(tunnel)));

for (const [tool, method] of [["ask-sampling", "sampling/createMessage"],
  ["ask-elicitation", "elicitation/create"]]) {
  const t0 = Date.now();
  let text = "", isError = false;
  try {
    const r = await client.callTool({ name: tool }, undefined, { timeout: deadlineMs * 3 });
    text = r.content?.[0]?.text ?? "";
    isError = !!r.isError;
  } catch (e) {
    text = `call failed: ${e.message}`;
  }
  const ms = Date.now() - t0;
  check(isError && text.includes("-32601") && text.includes(`${method} is not available`) &&
        text.includes("not supported through the tunnel"),
        `${tool}: the server's own error, in ${ms} ms (deadline ${deadlineMs} ms): ${text.slice(0, 160)}`);
  check(ms < deadlineMs / 2, `${tool}: answered well before the deadline (${ms} ms)`);
}

const conns = () => Number(fs.readFileSync(connsFile, "utf8"));
const before = conns();
const t0 = Date.now();
let next = 0, bad = 0;
await Promise.all([0, 1, 2, 3].map(async () => {
  while (next < 100) {
    const n = next++;
    const r = await client.callTool({ name: "echo", arguments: { text: `m${n}` } });
    if (r.content?.[0]?.text !== `m${n}`) bad++;
  }
}));
const opened = conns() - before;
check(bad === 0, `100 echo calls through the tunnel, 4 at a time, in ${Date.now() - t0} ms`);
check(opened <= 4, `they opened ${opened} new connection(s) at the server (want <= 4)`);
await client.close();
process.exit(failed === 0 ? 0 : 1);
