// An MCP server built on the official TypeScript SDK (Server +
// StreamableHTTPServerTransport, one session per initialize), for
// server_requests.mjs. Its tools ask the client something the way much
// server code does — server.createMessage() / elicitInput() with no
// link to the tool call — so the SDK sends the request on the session's
// standalone GET stream (and drops it when no such stream is open):
//   ask-sampling, ask-elicitation  the request; the tool's text says how
//                                  the client answered (or the error)
//   echo {text}                    the text back (SDK servers answer every
//                                  POST as SSE)
// usage: node sdk_server.mjs URL_FILE
// Writes http://127.0.0.1:PORT/mcp to URL_FILE once listening, and the
// number of TCP connections accepted so far to URL_FILE.conns after each.
import fs from "node:fs";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const urlFile = process.argv[2];
const sessions = new Map(); // session id -> transport

const tools = [
  { name: "ask-sampling", description: "asks the client to sample", inputSchema: { type: "object" } },
  { name: "ask-elicitation", description: "asks the user", inputSchema: { type: "object" } },
  { name: "echo", description: "echo", inputSchema: { type: "object", properties: { text: { type: "string" } } } },
];

function newServer() {
  const server = new Server({ name: "sdk-server-requests", version: "1.0.0" },
    { capabilities: { tools: {} } });
  const ask = async (what, fn) => {
    try {
      return { content: [{ type: "text", text: `${what} answered: ${JSON.stringify(await fn())}` }] };
    } catch (e) {
      return { content: [{ type: "text", text: `${what} failed: ${e.message}` }], isError: true };
    }
  };
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, (req) => {
    switch (req.params.name) {
    case "ask-sampling": // no relatedRequestId: the standalone stream
      return ask("sampling", () => server.createMessage({
        messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 5 }));
    case "ask-elicitation":
      return ask("elicitation", () => server.elicitInput({
        message: "Your name?", requestedSchema: { type: "object", properties: { name: { type: "string" } } } }));
    default:
      return { content: [{ type: "text", text: String(req.params.arguments?.text ?? "") }] };
    }
  });
  return server;
}

const readBody = (req) => new Promise((resolve) => {
  let b = "";
  req.on("data", (c) => (b += c));
  req.on("end", () => resolve(b));
});

const httpServer = http.createServer(async (req, res) => {
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? sessions.get(sid) : undefined;
  if (req.method === "POST") {
    const raw = await readBody(req);
    let body;
    try { body = JSON.parse(raw); } catch { body = undefined; }
    if (!transport && body && body.method === "initialize") {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
      await newServer().connect(transport);
    }
    if (!transport) {
      res.writeHead(404, { "Content-Type": "application/json" });
      return res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
    }
    return transport.handleRequest(req, res, body);
  }
  if (!transport) { res.writeHead(404); return res.end(); }
  return transport.handleRequest(req, res);
});
let conns = 0;
httpServer.on("connection", () => {
  conns++;
  fs.writeFileSync(urlFile + ".conns.tmp", String(conns));
  fs.renameSync(urlFile + ".conns.tmp", urlFile + ".conns");
});
httpServer.keepAliveTimeout = 60000;
httpServer.listen(0, "127.0.0.1", () => {
  fs.writeFileSync(urlFile + ".tmp", `http://127.0.0.1:${httpServer.address().port}/mcp`);
  fs.renameSync(urlFile + ".tmp", urlFile);
});
process.on("SIGTERM", () => process.exit(0));
