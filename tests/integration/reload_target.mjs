// reload_target.mjs — a small MCP server for the reload tests (reload.sh),
// over Streamable HTTP or stdio, that names itself in every result so a
// test can tell which server (and which process) answered a call.
//
//   node reload_target.mjs http NAME URL_FILE LOG_FILE RELEASE_FILE [PORT]
//   node reload_target.mjs stdio NAME LOG_FILE RELEASE_FILE
//
// tools/call answers {"content":[{"type":"text","text":"NAME pid=PID"}]}.
// With arguments.hold=true the answer waits until RELEASE_FILE exists
// (polled every 20 ms), so calls stay in flight for as long as a test
// needs, without timing assumptions. Every tools/call is appended to
// LOG_FILE as one JSON line: {"server","id","tag","x_reload_test"} (the
// X-Reload-Test request header over HTTP, null over stdio), written when
// the call arrives. initialize answers at once; notifications get 202 (HTTP)
// or nothing; an HTTP request without a body (OAuth discovery) gets 404.
import { appendFileSync, existsSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createInterface } from "node:readline";

const [mode, name, ...rest] = process.argv.slice(2);

const logCall = (logFile, msg, header) =>
  appendFileSync(logFile, JSON.stringify({
    server: name, id: msg.id, tag: msg.params?.arguments?.tag ?? null,
    x_reload_test: header ?? null }) + "\n");

const whenReleased = (releaseFile, hold, fn) => {
  if (!hold) return fn();
  const t = setInterval(() => {
    if (existsSync(releaseFile)) { clearInterval(t); fn(); }
  }, 20);
};

const result = (id, msg) => {
  if (msg.method === "initialize")
    return { jsonrpc: "2.0", id, result: { protocolVersion: "2025-06-18",
      capabilities: { tools: {} }, serverInfo: { name, version: "1" } } };
  return { jsonrpc: "2.0", id, result: {
    content: [{ type: "text", text: `${name} pid=${process.pid}` }] } };
};

if (mode === "http") {
  const [urlFile, logFile, releaseFile, port = "0"] = rest;
  createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (body === "") { res.writeHead(404); res.end(); return; }
      let msg;
      try { msg = JSON.parse(body); } catch { res.writeHead(400); res.end(); return; }
      if (msg.id === undefined) { res.writeHead(202); res.end(); return; }
      const send = () => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(result(msg.id, msg)));
      };
      if (msg.method !== "tools/call") return send();
      logCall(logFile, msg, req.headers["x-reload-test"]);
      whenReleased(releaseFile, msg.params?.arguments?.hold === true, send);
    });
  }).listen(Number(port), "127.0.0.1", function () {
    writeFileSync(urlFile + ".tmp", `http://127.0.0.1:${this.address().port}`);
    renameSync(urlFile + ".tmp", urlFile);
  });
} else if (mode === "stdio") {
  const [logFile, releaseFile] = rest;
  const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
  createInterface({ input: process.stdin }).on("line", (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.id === undefined || msg.method === undefined) return;
    if (msg.method !== "tools/call") return send(result(msg.id, msg));
    logCall(logFile, msg, null);
    whenReleased(releaseFile, msg.params?.arguments?.hold === true,
                 () => send(result(msg.id, msg)));
  });
} else {
  process.stderr.write("usage: reload_target.mjs http|stdio NAME ...\n");
  process.exit(2);
}
