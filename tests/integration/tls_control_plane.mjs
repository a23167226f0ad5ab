// A control plane behind TLS for the enterprise network tests: node's https
// server with the given certificate, optionally demanding a client
// certificate issued by a CA (refused during the handshake, as a mutual-TLS
// endpoint does). It serves the two routes an idle agent and `doctor` use:
//   GET /v1/tunnels/{id}       200 {"id","name","description"}
//   GET /v1/tunnels/{id}/poll  204 after min(timeout_ms, 300) ms
// with "Authorization: Bearer <key>" required (401 otherwise) and another
// tunnel id answered 404; anything else 404. Every request is appended to
// LOG as one JSON line {method, path, client_cert}. Writes its base URL
// (https://127.0.0.1:PORT) to URL_FILE once listening.
//
// usage: node tls_control_plane.mjs URL_FILE LOG CERT KEY TUNNEL_ID API_KEY [CLIENT_CA]
import { createServer } from 'node:https';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const [urlFile, logFile, cert, key, tunnelId, apiKey, clientCa] = process.argv.slice(2);
if (!apiKey) {
  console.error('usage: node tls_control_plane.mjs URL_FILE LOG CERT KEY TUNNEL_ID API_KEY [CLIENT_CA]');
  process.exit(2);
}

const options = { cert: readFileSync(cert), key: readFileSync(key) };
if (clientCa) {
  options.ca = readFileSync(clientCa);
  options.requestCert = true;
  options.rejectUnauthorized = true;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const server = createServer(options, (req, res) => {
  const url = new URL(req.url, 'https://localhost');
  const peer = req.socket.getPeerCertificate ? req.socket.getPeerCertificate() : null;
  appendFileSync(logFile, JSON.stringify({
    method: req.method, path: url.pathname,
    client_cert: peer && peer.subject ? peer.subject.CN : null,
  }) + '\n');
  const m = /^\/v1\/tunnels\/([^/]+)(\/poll)?$/.exec(url.pathname);
  if (!m || req.method !== 'GET') return send(res, 404, { error: { message: 'no such route', type: 'invalid_request_error' } });
  if (req.headers.authorization !== `Bearer ${apiKey}`)
    return send(res, 401, { error: { message: 'wrong API key', type: 'invalid_request_error', code: 'tunnel_use_forbidden' } });
  if (m[1] !== tunnelId) return send(res, 404, { error: { message: 'tunnel not found', type: 'invalid_request_error' } });
  if (!m[2]) return send(res, 200, { id: tunnelId, name: 'tls test tunnel', description: 'behind TLS' });
  const wait = Math.min(Number(url.searchParams.get('timeout_ms')) || 300, 300);
  setTimeout(() => { res.writeHead(204); res.end(); }, wait);
});

server.listen(0, '127.0.0.1', () => {
  writeFileSync(urlFile + '.tmp', `https://127.0.0.1:${server.address().port}`);
  renameSync(urlFile + '.tmp', urlFile);
});
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
