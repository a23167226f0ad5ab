// faults_stdio_server.mjs — a misbehaving MCP server over stdio for the
// fault-injection tests (faults_stdio.sh). Newline-delimited JSON-RPC; a
// tools/call picks its behaviour from arguments.input:
//   "exit"     the process exits (code 3) without answering
//   "nonjson"  writes non-JSON lines (plain text, a NUL, CRLF) first, then
//              answers
//   "flood"    writes 8 MiB to stderr first, then answers
//   "chatty:N" writes N short stderr lines, a Cookie line (a secret for the
//              redaction check), then "chatty-last-line", then
//              answers once stderr has taken all of it
//   anything   answered with a text result echoing the input
import { createInterface } from "node:readline";

const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
const answer = (id, text) =>
  send({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text }] } });

createInterface({ input: process.stdin }).on("line", (line) => {
  let msg;
  try { msg = JSON.parse(line); } catch { return; }
  if (msg.id === undefined || msg.method === undefined) return;
  if (msg.method === "initialize") {
    return send({ jsonrpc: "2.0", id: msg.id, result: {
      protocolVersion: "2025-06-18", capabilities: { tools: {} },
      serverInfo: { name: "faults-stdio", version: "1" } } });
  }
  const input = String(msg.params?.arguments?.input ?? msg.method);
  if (msg.method !== "tools/call") return answer(msg.id, input);
  if (input === "exit") process.exit(3);
  if (input === "nonjson") {
    process.stdout.write("this is not json\n\0\u0001 binary\r\n{\"half\":\n");
    return answer(msg.id, input);
  }
  if (input.startsWith("chatty:")) {
    const n = Number(input.slice(7));
    let text = "";
    for (let i = 0; i < n; i++) text += `chatty line ${i} of ${n}\n`;
    text += "Cookie: chatty-cookie-SECRET\nchatty-last-line\n";
    return process.stderr.write(text, () => answer(msg.id, input));
  }
  if (input === "flood") {
    const chunk = "e".repeat(1 << 16) + "\n";
    for (let i = 0; i < 128; i++) process.stderr.write(chunk);
    return answer(msg.id, input);
  }
  answer(msg.id, input);
});
