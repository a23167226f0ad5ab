// stdio_server.mjs — a tiny MCP server over stdio for test_mcp_stdio.
// Newline-delimited JSON-RPC on stdin/stdout. tools/call "echo" takes
// {input, delay_ms, notify, ask, exit, raw (a reply line written as given,
// "$ID" replaced by the request id), bytes + layout (a reply line padded to
// about that size, its id first ("head"), last (default) or in the middle
// ("middle"))}; "state" reports argv, pid, how many
// initialize requests arrived, whether notifications/initialized did, and
// the last answer to our own server->client request. initialize is
// answered after params._meta.delay_ms, and refused (-32602) when
// protocolVersion is "bad". Options: --term-file PATH (on SIGTERM write
// "SIGTERM" there and exit), --ignore-eof (keep running when stdin closes).
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const argv = process.argv.slice(2);
const optIdx = argv.indexOf("--term-file");
const termFile = optIdx >= 0 ? argv[optIdx + 1] : null;
const ignoreEof = argv.includes("--ignore-eof");
if (termFile) process.on("SIGTERM", () => { writeFileSync(termFile, "SIGTERM"); process.exit(0); });

const state = { inits: 0, initialized: false, answer: null };
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");

process.stderr.write("stdio-server ready\n");

function tool(msg) {
  const p = msg.params || {};
  const a = p.arguments || {};
  if (p.name === "state") {
    send({ jsonrpc: "2.0", id: msg.id, result: {
      argv: process.argv.slice(2), pid: process.pid, inits: state.inits,
      initialized: state.initialized, answer: state.answer } });
    return;
  }
  if (a.exit) process.exit(3);
  if (typeof a.raw === "string") { // this exact reply line, "$ID" = the id
    process.stdout.write(a.raw.replace("$ID", JSON.stringify(msg.id)) + "\n");
    return;
  }
  if (a.bytes) { // a reply line of about this many bytes, the id placed
    const pad = "x".repeat(a.bytes);   // first, last or in the middle
    const id = JSON.stringify(msg.id);
    const line = a.layout === "head"
      ? `{"jsonrpc":"2.0","id":${id},"result":{"pad":"${pad}"}}`
      : a.layout === "middle"
        ? `{"result":{"pad":"${pad}"},"id":${id},"jsonrpc":"2.0"}`
        : `{"result":{"pad":"${pad}"},"jsonrpc":"2.0","id":${id}}`;
    process.stdout.write(line + "\n");
    return;
  }
  if (a.notify) {
    const token = p._meta ? p._meta.progressToken : undefined;
    send({ jsonrpc: "2.0", method: "notifications/progress",
           params: { progressToken: token, progress: 1, total: 2 } });
  }
  if (a.ask) send({ jsonrpc: "2.0", id: "srv-1", method: "roots/list" });
  setTimeout(() => send({ jsonrpc: "2.0", id: msg.id, result: {
    content: [{ type: "text", text: String(a.input) }] } }), a.delay_ms || 0);
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line.trim() === "") return;
  const msg = JSON.parse(line);
  if (msg.method === undefined) { state.answer = msg; return; }
  if (msg.method === "initialize") {
    const p = msg.params || {};
    if (p.protocolVersion === "bad") {
      send({ jsonrpc: "2.0", id: msg.id,
             error: { code: -32602, message: "Unsupported protocol version" } });
      return;
    }
    const delay = (p._meta && p._meta.delay_ms) || 0;
    setTimeout(() => {
      state.inits++;
      send({ jsonrpc: "2.0", id: msg.id, result: {
        protocolVersion: "2025-06-18", capabilities: { tools: {} },
        serverInfo: { name: "stdio-test", version: "1" } } });
    }, delay);
  } else if (msg.method === "notifications/initialized") {
    state.initialized = true;
  } else if (msg.method === "tools/call") {
    tool(msg);
  } else if (msg.id !== undefined) {
    send({ jsonrpc: "2.0", id: msg.id,
           error: { code: -32601, message: "Method not found" } });
  }
});
rl.on("close", () => { if (!ignoreEof) process.exit(0); });
if (ignoreEof) setInterval(() => {}, 1000); // stay up after stdin closes
