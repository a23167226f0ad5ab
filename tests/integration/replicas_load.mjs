// replicas_load.mjs — a bounded MCP load through the control plane's
// ingress for replicas.sh: CALLS tools/call requests, CONCURRENCY at a time,
// each with its own input "slow:DELAY:call-<i>" (faults_mcp_server.mjs
// answers it after DELAY ms and echoes it), so every answer can be matched
// to its caller.
//
// usage: node replicas_load.mjs --url URL --calls N --concurrency C
//          --delay-ms D --out FILE [--at K --signal KILL|TERM --pid PID]
//          [--watch-ready URL]...
//
// --at: once K calls have completed, send SIG<signal> to PID (mid-load).
// --watch-ready: GET URL every 100 ms during the run; every answer other
// than 200 is recorded.
// Writes one JSON object to FILE: calls, ok, failed [{i, status, ms, body}],
// mismatched, by_status, signal_after_calls, duration_ms, ready_failures
// [{url, status}], ready_checks. Exit 0 (the test judges the figures).
import http from "node:http";
import { writeFileSync } from "node:fs";

const args = { watch: [] };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i], v = process.argv[i + 1];
  if (k === "--watch-ready") args.watch.push(v);
  else args[k.slice(2)] = v;
}
const url = new URL(args.url);
const calls = Number(args.calls), conc = Number(args.concurrency);
const delay = Number(args["delay-ms"]);
const at = args.at ? Number(args.at) : -1;
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });

function call(i) {
  const input = `slow:${delay}:call-${i}`;
  const body = JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call",
    params: { name: "echo", arguments: { input } } });
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname,
      method: "POST", agent, timeout: 120000,
      headers: { "Content-Type": "application/json",
                 "Accept": "application/json, text/event-stream" } }, (res) => {
      let b = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (b += c));
      res.on("end", () => {
        let matched = false;
        try {
          const m = JSON.parse(b);
          matched = m.id === i && m.result?.content?.[0]?.text === input;
        } catch { /* not JSON */ }
        resolve({ i, status: res.statusCode, ms: Date.now() - t0, matched, body: b.slice(0, 300) });
      });
    });
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", (e) => resolve({ i, status: 0, ms: Date.now() - t0, matched: false, body: String(e) }));
    req.end(body);
  });
}

const ready = { checks: 0, failures: [] };
let watching = true;
async function watchReady() {
  while (watching) {
    for (const u of args.watch) {
      const status = await new Promise((resolve) => {
        const r = http.get(u, { timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode); });
        r.on("timeout", () => r.destroy(new Error("timeout")));
        r.on("error", () => resolve(0));
      });
      ready.checks++;
      if (status !== 200) ready.failures.push({ url: u, status });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const results = [];
let next = 0, done = 0, signalled = -1;
const t0 = Date.now();
const watcher = args.watch.length ? watchReady() : Promise.resolve();
async function worker() {
  while (next < calls) {
    const i = next++;
    const r = await call(i);
    results.push(r);
    done++;
    if (at >= 0 && signalled < 0 && done >= at) {
      signalled = done;
      process.kill(Number(args.pid), "SIG" + args.signal);
    }
  }
}
await Promise.all(Array.from({ length: conc }, worker));
const duration = Date.now() - t0;
watching = false;
await watcher;
agent.destroy();

const byStatus = {};
for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
const ok = results.filter((r) => r.status === 200 && r.matched).length;
writeFileSync(args.out, JSON.stringify({
  calls: results.length, ok,
  failed: results.filter((r) => r.status !== 200).map(({ i, status, ms, body }) => ({ i, status, ms, body })),
  mismatched: results.filter((r) => r.status === 200 && !r.matched).map(({ i, body }) => ({ i, body })),
  by_status: byStatus, signal_after_calls: signalled, duration_ms: duration,
  ready_checks: ready.checks, ready_failures: ready.failures,
}, null, 1) + "\n");
