// http_server.mjs — a small Streamable-HTTP-ish MCP server for
// test_mcp_http_probe: plain HTTP on 127.0.0.1 (ephemeral or given port),
// on a unix socket, or HTTPS with an optional or required client
// certificate. Every request is appended as one JSON line to --log
// ({method, path, rpc, client, session, accept, protocol, extra, discovery,
// cert}), where rpc is the JSON-RPC method, client the clientInfo and cert
// the client certificate's CN or null.
//
// Paths: /mcp       initialize (issues Mcp-Session-Id), notifications -> 202,
//                   other requests -> result {echo: method}; GET holds a
//                   text/event-stream open (the session's standalone stream,
//                   one per session: 409 while one is open;
//                   with --log-streams 1 its end is logged as method
//                   "STREAM-CLOSED");
//                   DELETE -> 204. tools/call "ask-client" sends a request
//                   ({method} from its arguments, default
//                   sampling/createMessage) to the client on the session's
//                   stream and answers the call with what the client
//                   answered; with no stream open it never answers (as an
//                   SDK server whose request is dropped). A POST carrying a
//                   JSON-RPC response is such an answer (202).
//        /auth      401 + WWW-Authenticate for everything.
//        /forbidden 403 for everything.
//        /slow      answers after 3 s.
//        /redirect  307 to --redirect-to.
// Options: --listen PORT | --unix PATH, --url-file FILE (written once
// listening: "http(s)://127.0.0.1:PORT" or "unix:PATH"), --log FILE,
// --tls-cert/--tls-key/--tls-ca, --client-cert required|optional,
// --redirect-to URL, --no-get (GET -> 405).
import { appendFileSync, renameSync, writeFileSync, readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const opt = {};
for (let i = 2; i < process.argv.length; i += 2)
  opt[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];

let sessions = 0;
const streams = new Map();  // session -> its open GET response
const waiting = new Map();  // id of a request to the client -> resolve
let asked = 0;
const log = (rec) => { if (opt.log) appendFileSync(opt.log, JSON.stringify(rec) + "\n"); };

function peerCN(req) {
  const s = req.socket;
  if (typeof s.getPeerCertificate !== "function") return null;
  const c = s.getPeerCertificate();
  return c && c.subject ? c.subject.CN : null;
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === null ? undefined : JSON.stringify(body));
}

function handle(req, res, raw) {
  const path = req.url.split("?")[0];
  let rpc = null, client = null;
  try { const m = JSON.parse(raw); rpc = m.method || null;
        client = (m.params && m.params.clientInfo) || null; } catch { /* not JSON */ }
  log({ method: req.method, path, rpc, client, session: req.headers["mcp-session-id"] || null,
        accept: req.headers["accept"] || null,
        protocol: req.headers["mcp-protocol-version"] || null,
        extra: req.headers["x-extra"] || null,
        discovery: req.headers["x-discovery"] || null, cert: peerCN(req) });
  if (path === "/auth") {
    res.writeHead(401, { "WWW-Authenticate": 'Bearer realm="t"', "Content-Type": "text/plain" });
    return res.end("unauthorized");
  }
  if (path === "/forbidden") { res.writeHead(403); return res.end("forbidden"); }
  if (path === "/redirect") {
    res.writeHead(307, { Location: opt["redirect-to"] || "/" });
    return res.end();
  }
  if (path !== "/mcp" && path !== "/slow") { res.writeHead(404); return res.end(); }
  if (req.method === "GET") {
    if (opt["no-get"] !== undefined) { res.writeHead(405, { Allow: "POST, DELETE" }); return res.end(); }
    const sid = req.headers["mcp-session-id"];
    if (sid && streams.has(sid)) { // one stream per session, as SDK servers
      res.writeHead(409, { "Content-Type": "application/json" });
      return res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Conflict: Only one SSE stream is allowed per session"}}');
    }
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.write(": open\n\n"); // held open until the client goes away
    if (sid) {
      streams.set(sid, res);
      res.on("close", () => {
        if (streams.get(sid) === res) streams.delete(sid);
        if (opt["log-streams"] !== undefined) log({ method: "STREAM-CLOSED", path, session: sid });
      });
    }
    return;
  }
  if (req.method === "DELETE") { res.writeHead(204); return res.end(); }
  let msg;
  try { msg = JSON.parse(raw); } catch { return json(res, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }); }
  if (msg.method === undefined && msg.id !== undefined) { // a client's answer
    const done = waiting.get(msg.id);
    if (done) { waiting.delete(msg.id); done(msg); }
    res.writeHead(202);
    return res.end();
  }
  if (msg.method === "tools/call" && msg.params && msg.params.name === "ask-client") {
    const stream = streams.get(req.headers["mcp-session-id"]);
    if (!stream) return; // the request would be dropped: the call waits
    const id = "srv-" + (++asked);
    const method = (msg.params.arguments && msg.params.arguments.method) || "sampling/createMessage";
    waiting.set(id, (a) => json(res, 200, { jsonrpc: "2.0", id: msg.id, result: {
      content: [{ type: "text", text: a.error ? "client error: " + a.error.message
                                              : "client result: " + JSON.stringify(a.result) }],
      isError: !!a.error } }));
    stream.write("event: message\ndata: " + JSON.stringify({ jsonrpc: "2.0", id, method,
      params: { messages: [], maxTokens: 1 } }) + "\n\n");
    return;
  }
  const answer = () => {
    if (msg.id === undefined) { res.writeHead(202); return res.end(); }
    if (msg.method === "initialize") {
      sessions++;
      return json(res, 200, { jsonrpc: "2.0", id: msg.id, result: {
        protocolVersion: "2025-06-18", capabilities: {},
        serverInfo: { name: "http-test", version: "1" },
        clientInfo: msg.params && msg.params.clientInfo } },
        { "Mcp-Session-Id": "sess-" + sessions });
    }
    return json(res, 200, { jsonrpc: "2.0", id: msg.id, result: { echo: msg.method, cert: peerCN(req) } });
  };
  if (path === "/slow") setTimeout(answer, 3000); else answer();
}

const onRequest = (req, res) => {
  let raw = "";
  req.on("data", (d) => { raw += d; });
  req.on("end", () => handle(req, res, raw));
};

let server;
if (opt["tls-cert"]) {
  const mode = opt["client-cert"];
  server = https.createServer({
    cert: readFileSync(opt["tls-cert"]), key: readFileSync(opt["tls-key"]),
    ca: opt["tls-ca"] ? readFileSync(opt["tls-ca"]) : undefined,
    requestCert: mode === "required" || mode === "optional",
    rejectUnauthorized: mode === "required" }, onRequest);
} else {
  server = http.createServer(onRequest);
}
server.keepAliveTimeout = 30000;

function ready(url) {
  if (!opt["url-file"]) return;
  writeFileSync(opt["url-file"] + ".tmp", url);
  renameSync(opt["url-file"] + ".tmp", opt["url-file"]);
}

if (opt.unix) {
  server.listen(opt.unix, () => ready("unix:" + opt.unix));
} else {
  server.listen(Number(opt.listen || 0), "127.0.0.1", () => {
    const scheme = opt["tls-cert"] ? "https" : "http";
    ready(`${scheme}://127.0.0.1:${server.address().port}`);
  });
}
process.on("SIGTERM", () => process.exit(0));
