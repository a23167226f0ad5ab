// replies_mcp_server.mjs — a Streamable HTTP MCP server for replies.sh.
// Replies carry the request's id as its exact text (found by a top-level
// scan of the request, never through JSON.parse, which would round ids
// beyond 2^53). tools/call arguments:
//   {}                      a small result
//   {"mib": N}              a result padded to about N MiB (valid JSON)
//   {"sse": true, ...}      the same as one text/event-stream event after a
//                           progress notification, then the end of the
//                           stream
// initialize -> a result, notifications -> 202, GET -> 405, DELETE -> 204.
// usage: node replies_mcp_server.mjs URL_FILE
// Writes http://127.0.0.1:PORT to URL_FILE once listening, and the number
// of TCP connections accepted so far to URL_FILE.conns after each one.
import { createServer } from "node:http";
import { renameSync, writeFileSync } from "node:fs";

const [urlFile] = process.argv.slice(2);
let conns = 0;

// The exact text of the top-level "id" member of a JSON object, or null.
function rawId(text) {
  let depth = 0, i = 0, key = null, expectKey = false;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const tok = text.slice(i, j + 1);
      if (depth === 1 && expectKey) { key = JSON.parse(tok); expectKey = false; }
      else if (depth === 1 && key === "id") return tok;
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") { depth++; if (depth === 1) expectKey = true; }
    else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) { expectKey = true; key = null; }
    else if (depth === 1 && key === "id" && !/[\s:]/.test(c)) {
      let j = i;
      while (j < text.length && !/[\s,}]/.test(text[j])) j++;
      return text.slice(i, j);
    }
    i++;
  }
  return null;
}

function send(res, sse, parts) { // parts: strings and padding lengths
  res.writeHead(200, { "Content-Type": sse ? "text/event-stream" : "application/json" });
  if (sse) res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\nevent: message\ndata: ');
  const chunk = "x".repeat(1 << 20);
  const queue = parts.slice();
  const pump = () => {
    while (queue.length > 0) {
      const p = queue[0];
      if (typeof p === "number") {
        if (p <= 0) { queue.shift(); continue; }
        const n = Math.min(p, chunk.length);
        queue[0] = p - n;
        if (!res.write(n === chunk.length ? chunk : chunk.slice(0, n))) return res.once("drain", pump);
      } else {
        queue.shift();
        if (!res.write(p)) return res.once("drain", pump);
      }
    }
    res.end(sse ? "\n\n" : undefined);
  };
  res.on("error", () => {});
  pump();
}

const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.method === "GET") { res.writeHead(405, { Allow: "POST, DELETE" }); return res.end(); }
    if (req.method === "DELETE") { res.writeHead(204); return res.end(); }
    let msg = {};
    try { msg = JSON.parse(body); } catch { /* ids too large for JS still parse */ }
    const id = rawId(body);
    if (id === null) { res.writeHead(202); return res.end(); }
    if (msg.method === "initialize") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(`{"jsonrpc":"2.0","id":${id},"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"replies","version":"1"}}}`);
    }
    const a = (msg.params && msg.params.arguments) || {};
    const pad = Math.max(0, Math.round((a.mib || 0) * 1048576));
    send(res, !!a.sse, [`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`,
      pad, `"}]}}`]);
  });
});
server.on("connection", () => {
  conns++;
  writeFileSync(urlFile + ".conns.tmp", String(conns));
  renameSync(urlFile + ".conns.tmp", urlFile + ".conns");
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => {
  writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + server.address().port);
  renameSync(urlFile + ".tmp", urlFile);
});
process.on("SIGTERM", () => process.exit(0));
