// Starts the reference "everything" MCP server in Streamable HTTP mode on
// 127.0.0.1 with an ephemeral port, and writes its MCP endpoint URL
// (http://127.0.0.1:PORT/mcp) atomically to the file given as argv[2].
//
// The server itself only reads PORT and calls app.listen(PORT) on all
// interfaces; this wrapper pins the listen address to loopback and port 0
// by wrapping net.Server.prototype.listen before the server module loads.
// Its per-request stdout chatter is silenced. Exits when the server fails
// to listen (the server's own handler exits 1).
import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";

const urlFile = process.argv[2];
if (!urlFile) {
  console.error("usage: everything_http.mjs URL_FILE");
  process.exit(2);
}

const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const cb = args.find((a) => typeof a === "function");
  this.once("listening", () => {
    const { port } = this.address();
    fs.writeFileSync(urlFile + ".tmp", `http://127.0.0.1:${port}/mcp`);
    fs.renameSync(urlFile + ".tmp", urlFile);
  });
  return cb
    ? origListen.call(this, 0, "127.0.0.1", cb)
    : origListen.call(this, 0, "127.0.0.1");
};
console.log = () => {}; // "Received MCP POST request" on every request

const require = createRequire(import.meta.url);
const pkg = require.resolve("@modelcontextprotocol/server-everything/package.json");
const dist = new URL("dist/transports/streamableHttp.js", "file://" + pkg.replace(/package\.json$/, ""));
await import(dist.href);
