// Hostile connections against the ops listener while a probe loop measures
// /healthz and /readyz, the way a kubelet would (a fresh connection per
// probe, one at a time).
//
// usage: node ops_slow_clients.mjs HEALTH_URL AGENT_PID
//
// Hostile connections come in three kinds, in equal numbers, and each is
// opened again 200 ms after the listener closed it (hundreds stay open):
//   dripper  request headers, one byte per second, never finished;
//   idle     connects and sends nothing;
//   body     complete headers of a PUT with Content-Length 4096, then one
//            body byte per second.
// Phases (the listener allows 32 connections per address, 256 in all):
//   deadlines     200 from 10 addresses other than the probes'
//                 (127.0.0.2-11, 20 each), under both caps, for 13 s: each
//                 must be cut by the 10 s header/body deadline — not before
//                 9 s, not after 14 s;
//   over the cap  300 from the same 10 addresses (30 each): more than the
//                 total cap, so the listener must make room for each probe;
//   same address  100 from 127.0.0.1, the probes' own address.
// Every probe must answer 200 within 1 s (a generous ceiling). Prints probe
// latency (max, p99) and the agent's thread count and RSS under the flood.
// Exit 0 when all checks pass, 1 otherwise.
import fs from "node:fs";
import http from "node:http";
import net from "node:net";

const [base, agentPid] = process.argv.slice(2);
if (!base || !agentPid) {
  console.error("usage: ops_slow_clients.mjs HEALTH_URL AGENT_PID");
  process.exit(2);
}
const url = new URL(base);
const host = url.hostname, port = +url.port;
const DEADLINE_S = 10, SLACK_S = 4, PROBE_CEILING_MS = 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const problems = [];

// ---- hostile connections --------------------------------------------------

const hostile = new Set(); // live records
let lifetimes = [];        // ms from connect to close, of closed ones
let stopping = false;
let opened = 0;

function openHostile(kind, localAddress) {
  if (stopping) return;
  const rec = { kind, t0: 0, timer: null, ours: false };
  const s = net.connect({ host, port, localAddress });
  rec.sock = s;
  hostile.add(rec);
  s.setNoDelay(true);
  s.on("connect", () => {
    rec.t0 = Date.now();
    opened++;
    if (kind === "dripper") {
      s.write(`GET /healthz HTTP/1.1\r\nHost: ${host}:${port}\r\nX-Drip: `);
      rec.timer = setInterval(() => s.write("x"), 1000);
    } else if (kind === "body") {
      s.write(`PUT /api/log-level HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
              "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{");
      rec.timer = setInterval(() => s.write(" "), 1000);
    }
  });
  s.on("error", () => {});
  s.on("data", () => {}); // a body connection may get a reply: ignore it
  s.on("close", () => {
    clearInterval(rec.timer);
    hostile.delete(rec);
    if (rec.t0 && !rec.ours) lifetimes.push({ kind, ms: Date.now() - rec.t0 });
    if (!stopping) setTimeout(() => openHostile(kind, localAddress), 200);
  });
}

function flood(addresses, perAddress) {
  const kinds = ["dripper", "idle", "body"];
  let i = 0;
  for (const a of addresses)
    for (let k = 0; k < perAddress; k++) openHostile(kinds[i++ % 3], a);
}

function stopFlood() {
  stopping = true;
  const now = Date.now();
  for (const rec of hostile) {
    if (rec.t0 && now - rec.t0 > (DEADLINE_S + SLACK_S) * 1000)
      problems.push(`a ${rec.kind} connection is still open after ${now - rec.t0} ms`);
    clearInterval(rec.timer);
    rec.ours = true;
    rec.sock.destroy();
  }
}

// ---- probes ------------------------------------------------------------------

function probe(path) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host, port, path, agent: false, localAddress: "127.0.0.1",
                           timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ path, status: res.statusCode,
                                    ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.on("error", (e) => resolve({ path, status: 0, error: e.message,
                                     ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

async function probeLoop(ms) {
  const out = [];
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end; i++) {
    out.push(await probe(i % 2 ? "/readyz" : "/healthz"));
    await sleep(50);
  }
  return out;
}

function agentFigures() {
  try {
    const st = fs.readFileSync(`/proc/${agentPid}/status`, "utf8");
    const threads = /Threads:\s+(\d+)/.exec(st)?.[1];
    const rss = /VmRSS:\s+(\d+) kB/.exec(st)?.[1];
    return `agent threads ${threads}, RSS ${(rss / 1024).toFixed(1)} MiB`;
  } catch { return "agent figures unavailable"; }
}

function report(phase, probes) {
  const ms = probes.map((p) => p.ms).sort((a, b) => a - b);
  const p99 = ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))];
  const bad = probes.filter((p) => p.status !== 200 || p.ms > PROBE_CEILING_MS);
  console.log(`${phase}: ${probes.length} probes, max ${ms.at(-1).toFixed(1)} ms, ` +
              `p99 ${p99.toFixed(1)} ms, hostile open ${hostile.size} (opened ${opened}), ` +
              agentFigures());
  for (const p of bad.slice(0, 5))
    problems.push(`${phase}: ${p.path} answered ${p.status || p.error} in ${p.ms.toFixed(1)} ms`);
  if (bad.length > 5) problems.push(`${phase}: ${bad.length - 5} more failed probes`);
  if (probes.length < 10) problems.push(`${phase}: only ${probes.length} probes ran`);
}

// ---- run ------------------------------------------------------------------------

async function phase(name, addresses, perAddress, ms) {
  stopping = false;
  lifetimes = [];
  flood(addresses, perAddress);
  await sleep(1000);
  const want = addresses.length * perAddress;
  report(`${name} (${want} hostile)`, await probeLoop(ms));
  stopFlood();
  await sleep(300);
  const range = {};
  for (const l of lifetimes) {
    const r = (range[l.kind] ??= { min: Infinity, max: 0 });
    r.min = Math.min(r.min, l.ms);
    r.max = Math.max(r.max, l.ms);
  }
  console.log(`  ${lifetimes.length} closed by the listener; lifetimes (ms): ` +
              JSON.stringify(range));
  return range;
}

const others = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
const range = await phase("deadlines", others, 20, 12000);
for (const kind of ["dripper", "idle", "body"]) {
  const r = range[kind];
  if (!r) problems.push(`deadlines: no ${kind} connection was closed by the listener`);
  else if (r.min < (DEADLINE_S - 1) * 1000 || r.max > (DEADLINE_S + SLACK_S) * 1000)
    problems.push(`deadlines: ${kind} connections lived ${r.min}-${r.max} ms, ` +
                  `want ${DEADLINE_S - 1}-${DEADLINE_S + SLACK_S} s`);
}
await phase("over the cap", others, 30, 5000);
await phase("same address", ["127.0.0.1"], 100, 5000);
for (const p of problems) console.log(`PROBLEM: ${p}`);
process.exit(problems.length ? 1 : 0);
