// faults_mcp_server.mjs — a misbehaving Streamable HTTP MCP server for the
// fault-injection tests (faults_mcp.sh). Every POST is JSON-RPC; a
// tools/call picks its behaviour from arguments.input:
//   "ok"        JSON result echoing the input (also every other method)
//   "hang"      never answers (the socket stays open)
//   "garbage"   200 application/json whose body is not JSON
//   "huge:N"    200 application/json of N MiB (a JSON string never closed)
//   "sse_cut"   text/event-stream, one progress event, then the socket is
//               destroyed without a result
//   "reset"     the socket is destroyed before any reply
//   "die"       the process exits (code 7) before replying
//   "slow:MS[:TAG]"  the JSON result after MS milliseconds
// Requests without a body (OAuth discovery) get 404: no OAuth advertised.
//   "gate:PATH" the JSON result once the file PATH exists (the test
//               decides when the call ends)
// usage: node faults_mcp_server.mjs URL_FILE [PORT]
// Writes http://127.0.0.1:PORT to URL_FILE (tmp + rename) once listening and
// appends one line per request ("<input>") to URL_FILE.hits.
import { createServer } from "node:http";
import { appendFileSync, existsSync, renameSync, writeFileSync } from "node:fs";

const [urlFile, port = "0"] = process.argv.slice(2);
const hits = urlFile + ".hits";

const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    // The agent's OAuth discovery (GETs of .well-known documents, bodyless
    // probes): nothing advertised, so /readyz does not wait on it.
    if (body === "") { res.writeHead(404); return res.end(); }
    let msg = {};
    try { msg = JSON.parse(body); } catch { /* answered as ok */ }
    const input = String(msg?.params?.arguments?.input ?? msg?.method ?? "");
    appendFileSync(hits, input + "\n");
    const id = msg?.id ?? null;
    const ok = () => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id, result: {
        content: [{ type: "text", text: input }] } }));
    };
    if (msg?.method !== "tools/call") return ok();
    if (input === "hang") return;
    if (input === "garbage") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end("<html>this is not json</html>");
    }
    if (input.startsWith("huge:")) {
      const mib = Number(input.slice(5));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"jsonrpc":"2.0","id":1,"result":"');
      const chunk = "x".repeat(1 << 20);
      let sent = 0;
      const pump = () => {
        while (sent < mib) {
          sent++;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        res.end();
      };
      res.on("error", () => {});
      return pump();
    }
    if (input === "sse_cut") {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write("event: message\ndata: " + JSON.stringify({ jsonrpc: "2.0",
        method: "notifications/progress", params: { progressToken: 1, progress: 1 } }) + "\n\n");
      return setTimeout(() => req.socket.destroy(), 100);
    }
    if (input === "reset") return req.socket.destroy();
    if (input === "die") process.exit(7);
    if (input.startsWith("slow:")) return setTimeout(ok, parseInt(input.slice(5), 10));
    if (input.startsWith("gate:")) {
      const gate = input.slice(5);
      const check = () => (existsSync(gate) ? ok() : setTimeout(check, 20));
      return check();
    }
    ok();
  });
});
server.listen(Number(port), "127.0.0.1", () => {
  writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + server.address().port);
  renameSync(urlFile + ".tmp", urlFile);
});
