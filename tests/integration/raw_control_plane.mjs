// raw_control_plane.mjs — a tunnel service for wire-exact tests
// (replies.sh): commands go out as the exact bytes the test wrote, and
// response POSTs are recorded without being decoded, so ids beyond 64 bits
// and replies of many megabytes can be checked byte for byte and by size
// (the dev control plane decodes JSON with jansson and caps bodies at
// 1 MiB).
//
// usage: node raw_control_plane.mjs URL_FILE QUEUE_DIR LOG_FILE
//   GET  /v1/tunnels/{id}           200 {"id":...}
//   GET  /v1/tunnels/{id}/poll      every file QUEUE_DIR/*.json not served
//        yet (name order, up to `limit`), each holding one command's exact
//        JSON text, as {"commands":[...]}; when none, 204 after up to
//        min(timeout_ms, 500) ms
//   POST /v1/tunnels/{id}/response  200 {"status":"ok"}; appends one JSON
//        line to LOG_FILE: {request_id, resp_type, resp_code, bytes, body}
//        with the whole body when it is at most 64 KiB, else {.., head,
//        tail} (its first and last 4 KiB)
// Writes http://127.0.0.1:PORT to URL_FILE (tmp + rename) once listening.
import { createServer } from "node:http";
import { appendFileSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const [urlFile, queueDir, logFile] = process.argv.slice(2);
const served = new Set();

function pending(limit) {
  const out = [];
  for (const f of readdirSync(queueDir).sort()) {
    if (out.length >= limit) break;
    if (!f.endsWith(".json") || served.has(f)) continue;
    served.add(f);
    out.push(readFileSync(`${queueDir}/${f}`, "utf8").trim());
  }
  return out;
}

function poll(req, res, q) {
  const limit = Math.max(1, Number(q.get("limit") || 1));
  const until = Date.now() + Math.min(Number(q.get("timeout_ms") || 500), 500);
  const tick = () => {
    const cmds = pending(limit);
    if (cmds.length > 0) {
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(`{"commands":[${cmds.join(",")}]}`);
    }
    if (Date.now() >= until || req.socket.destroyed) { res.writeHead(204); return res.end(); }
    setTimeout(tick, 20);
  };
  tick();
}

function response(req, res) {
  let bytes = 0, head = "", tail = "";
  const parts = [];
  req.on("data", (c) => {
    bytes += c.length;
    if (bytes <= 65536) parts.push(c);
    const s = c.toString("latin1");
    if (head.length < 4096) head += s.slice(0, 4096 - head.length);
    tail = (tail + s).slice(-4096);
  });
  req.on("end", () => {
    const pick = (re, text) => { const m = re.exec(text); return m ? m[1] : null; };
    const rec = {
      request_id: pick(/"request_id":"([^"]*)"/, head),
      resp_type: pick(/"resp_type":"([^"]*)"/, tail),
      resp_code: Number(pick(/"resp_code":(\d+)/, tail)),
      bytes };
    if (bytes <= 65536) rec.body = Buffer.concat(parts).toString("utf8");
    else { rec.head = head; rec.tail = tail; }
    appendFileSync(logFile, JSON.stringify(rec) + "\n");
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"status":"ok"}');
  });
}

const server = createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  if (req.method === "GET" && u.pathname.endsWith("/poll")) return poll(req, res, u.searchParams);
  if (req.method === "POST" && u.pathname.endsWith("/response")) return response(req, res);
  if (req.method === "GET" && /^\/v1\/tunnels\/[^/]+$/.test(u.pathname)) {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end('{"id":"t","name":"raw","description":"raw"}');
  }
  req.resume();
  res.writeHead(404);
  res.end();
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => {
  writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + server.address().port);
  renameSync(urlFile + ".tmp", urlFile);
});
process.on("SIGTERM", () => process.exit(0));
