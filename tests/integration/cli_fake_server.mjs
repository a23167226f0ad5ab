// A small HTTP server standing in for an agent's health listener or an MCP
// server in the CLI tests (health, doctor). It listens on 127.0.0.1:0 (or
// a unix socket) and writes its URL to a file once bound.
//
// usage: node cli_fake_server.mjs URL_FILE MODE [--unix PATH]
//
// MODE (comma-separated flags):
//   ready          /readyz -> 200 "ready"
//   not-ready      /readyz -> 503 "mcp probe failed: connection refused"
//   slow-ready     /readyz answers after 10 s
//   polled         /api/status control_plane.last_poll_at and
//                  last_successful_poll_at are timestamps
//   poll-failing   polls happen but none succeeded: last_poll_at is a
//                  timestamp, last_successful_poll_at null, last_error set
//   (default)      /healthz -> 200 "live"; /api/status poll times null;
//                  /mcp -> 200 {}; OAuth well-known paths -> 404
//   prmd-500       /.well-known/oauth-protected-resource* -> 500
//   prmd-garbage   /.well-known/oauth-protected-resource* -> 200 "not json"
import { createServer } from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';

const [urlFile, modeArg = '', flag, unixPath] = process.argv.slice(2);
const mode = new Set(modeArg.split(',').filter(Boolean));

function send(res, status, body, type = 'text/plain') {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/healthz') return send(res, 200, 'live');
  if (path === '/readyz') {
    if (mode.has('slow-ready')) return setTimeout(() => send(res, 200, 'ready'), 10000);
    if (mode.has('not-ready'))
      return send(res, 503, 'mcp probe failed: connection refused');
    if (mode.has('ready')) return send(res, 200, 'ready');
    return send(res, 404, 'not found');
  }
  if (path === '/api/status') {
    const now = new Date().toISOString();
    const polled = mode.has('polled'), failing = mode.has('poll-failing');
    return send(res, 200, JSON.stringify({
      ready: mode.has('ready'),
      control_plane: {
        reachable: polled || failing,
        last_poll_at: polled || failing ? now : null,
        last_successful_poll_at: polled ? now : null,
        last_error: failing ? 'poll to http://127.0.0.1:9 failed: HTTP 401' : null,
      },
    }), 'application/json');
  }
  if (path === '/mcp') return send(res, 200, '{}', 'application/json');
  if (path.startsWith('/.well-known/oauth-protected-resource')) {
    if (mode.has('prmd-500')) return send(res, 500, 'boom');
    if (mode.has('prmd-garbage')) return send(res, 200, 'not json', 'application/json');
  }
  return send(res, 404, 'not found');
});

function ready(url) {
  writeFileSync(urlFile + '.tmp', url);
  renameSync(urlFile + '.tmp', urlFile);
}

if (flag === '--unix') {
  server.listen(unixPath, () => {
    const b64 = Buffer.from(unixPath).toString('base64url');
    ready(`http+unix://${b64}`);
  });
} else {
  server.listen(0, '127.0.0.1', () => ready(`http://127.0.0.1:${server.address().port}`));
}
process.on('SIGTERM', () => server.close(() => process.exit(0)));
