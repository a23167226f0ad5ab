// tcp_relay.mjs — a TCP relay between the agent and `dev control-plane`
// for outage tests (faults_cp.sh): killing it makes the control plane
// unreachable (existing connections close, new ones are refused), starting
// it again on the same port ends the outage.
// usage: node tcp_relay.mjs URL_FILE TARGET_URL [PORT]
// Listens on 127.0.0.1:PORT (0 = ephemeral) and forwards every connection
// to TARGET_URL's host:port; writes http://127.0.0.1:PORT to URL_FILE
// (tmp + rename) once listening.
import { createServer, connect } from "node:net";
import { renameSync, writeFileSync } from "node:fs";

const [urlFile, target, port = "0"] = process.argv.slice(2);
const t = new URL(target);

const server = createServer((client) => {
  const upstream = connect(Number(t.port), t.hostname);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", close);
  upstream.on("close", close);
});
server.listen(Number(port), "127.0.0.1", () => {
  writeFileSync(urlFile + ".tmp", `http://127.0.0.1:${server.address().port}`);
  renameSync(urlFile + ".tmp", urlFile);
});
