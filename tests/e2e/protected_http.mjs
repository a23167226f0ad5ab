// A Streamable HTTP MCP server with the official SDK's own DNS-rebinding
// protection, on 127.0.0.1 with an ephemeral port; writes its endpoint URL
// (http://127.0.0.1:PORT/mcp) atomically to URL_FILE.
//
// usage: node protected_http.mjs host|strict URL_FILE
//
//   host    createMcpExpressApp() as the SDK sets it up for a loopback
//           server: the Host header must be localhost, 127.0.0.1 or [::1]
//           (any port); Origin is not checked.
//   strict  the same plus the transport's enableDnsRebindingProtection:
//           Host must be 127.0.0.1:PORT or localhost:PORT, and an Origin,
//           when present, http://127.0.0.1:PORT or http://localhost:PORT
//           (what the MCP specification asks of a server).
// Stateless: each POST gets a fresh server and transport; one tool, ping.
import fs from "node:fs";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

const [mode, urlFile] = process.argv.slice(2);
if (!["host", "strict"].includes(mode) || !urlFile) {
  console.error("usage: protected_http.mjs host|strict URL_FILE");
  process.exit(2);
}

const app = createMcpExpressApp({ host: "127.0.0.1" });
let port = 0;

function transportOptions() {
  const opts = { sessionIdGenerator: undefined };
  if (mode === "strict") {
    opts.enableDnsRebindingProtection = true;
    opts.allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    opts.allowedOrigins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  }
  return opts;
}

app.post("/mcp", async (req, res) => {
  const server = new McpServer({ name: `protected-${mode}`, version: "1.0.0" });
  server.registerTool("ping", { description: "answers pong" },
    async () => ({ content: [{ type: "text", text: "pong" }] }));
  const transport = new StreamableHTTPServerTransport(transportOptions());
  res.on("close", () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});

const listener = app.listen(0, "127.0.0.1", () => {
  port = listener.address().port;
  fs.writeFileSync(urlFile + ".tmp", `http://127.0.0.1:${port}/mcp`);
  fs.renameSync(urlFile + ".tmp", urlFile);
});
listener.on("error", (e) => { console.error(`listen: ${e.message}`); process.exit(1); });
