// stderr_flood_server.mjs — a stdio "MCP server" for tests/bench/stderr_flood:
// writes MB megabytes (10^6 bytes) to stderr in lines of LINE bytes, then
// writes DONE_FILE and idles (it never reads stdin).
// usage: node stderr_flood_server.mjs LINE MB DONE_FILE
import { writeFileSync } from "node:fs";

const [lineArg, mbArg, done] = process.argv.slice(2);
const line = Math.max(Number(lineArg), 1);
const total = Number(mbArg) * 1000 * 1000;
const chunk = ("x".repeat(line - 1) + "\n").repeat(Math.max(1, Math.floor(65536 / line)));
let written = 0;
function go() {
  while (written < total) {
    written += chunk.length;
    if (!process.stderr.write(chunk)) return process.stderr.once("drain", go);
  }
  process.stderr.write("", () => writeFileSync(done, "1"));
}
go();
setInterval(() => {}, 1 << 30);
