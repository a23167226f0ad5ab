// Counts the progress notifications of the "everything" server's
// trigger-long-running-operation tool on the wire: raw fetch() of an MCP
// URL (initialize, notifications/initialized, then tools/call with
// _meta.progressToken) reading the POST's SSE stream event by event, with
// the arrival time of each event.
//
// usage: node sse_progress.mjs --tunnel URL [--direct URL] [--steps N] [--duration S]
//
// Checks on the tunnel's stream: HTTP 200, Content-Type text/event-stream,
// exactly N notifications/progress (progress 1..N, total N, our token),
// each arriving as its own event before the final result (the first at
// least half the operation's length before the result: streamed, not
// buffered), then exactly one result for our id with the tool's text, and
// nothing after it. With --direct, the same call directly against the
// server must give the same sequence of JSON-RPC messages; wire-level
// differences (SSE ids, priming events) are printed, not failed.
// Exit 0 when every check holds, 1 otherwise.
import { isDeepStrictEqual } from "node:util";

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(n);
  return i >= 0 ? argv[i + 1] : d;
};
const tunnelUrl = opt("--tunnel");
const directUrl = opt("--direct");
const steps = Number(opt("--steps", "5"));
const duration = Number(opt("--duration", "2"));
if (!tunnelUrl) {
  console.error("usage: sse_progress.mjs --tunnel URL [--direct URL] [--steps N] [--duration S]");
  process.exit(2);
}
const PROTOCOL = "2025-11-25";
const CALL_ID = 42;
const TOKEN = "progress-token-e2e";

// Splits an SSE byte stream into events ({id, event, data, t}); `t` is
// the arrival time (ms since `t0`) of the chunk that completed the event.
function sseParser(t0, onEvent) {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    const t = Date.now() - t0;
    let at;
    while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + (buf[at] === "\r" ? 4 : 2));
      const ev = { t, id: null, event: null, data: null };
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const c = line.indexOf(":");
        const field = c < 0 ? line : line.slice(0, c);
        const value = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
        if (field === "data") ev.data = ev.data === null ? value : ev.data + "\n" + value;
        else if (field === "id") ev.id = value;
        else if (field === "event") ev.event = value;
      }
      onEvent(ev);
    }
  };
}

async function post(url, session, body) {
  const headers = {
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
  };
  if (session) {
    headers["Mcp-Session-Id"] = session;
    headers["Mcp-Protocol-Version"] = PROTOCOL;
  }
  return fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(20000) });
}

// Reads a whole reply (JSON or SSE) and returns its JSON-RPC messages.
async function messagesOf(res) {
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) return text ? [JSON.parse(text)] : [];
  const out = [];
  sseParser(Date.now(), (ev) => { if (ev.data) out.push(JSON.parse(ev.data)); })(text + "\n\n");
  return out;
}

async function run(label, url) {
  const init = await post(url, null, {
    jsonrpc: "2.0", id: 1, method: "initialize",
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "sse-progress", version: "1" } },
  });
  const session = init.headers.get("mcp-session-id");
  const initMsgs = await messagesOf(init);
  if (init.status !== 200 || !initMsgs.some((m) => m.id === 1 && m.result)) {
    throw new Error(`${label}: initialize got HTTP ${init.status} ${JSON.stringify(initMsgs)}`);
  }
  const ack = await post(url, session, { jsonrpc: "2.0", method: "notifications/initialized" });
  await ack.arrayBuffer();
  if (ack.status !== 202) throw new Error(`${label}: notifications/initialized got HTTP ${ack.status}, want 202`);

  const t0 = Date.now();
  const res = await post(url, session, {
    jsonrpc: "2.0", id: CALL_ID, method: "tools/call",
    params: { name: "trigger-long-running-operation", arguments: { duration, steps }, _meta: { progressToken: TOKEN } },
  });
  const events = [];
  const feed = sseParser(t0, (ev) => events.push(ev));
  const dec = new TextDecoder();
  for await (const chunk of res.body) feed(dec.decode(chunk, { stream: true }));
  const end = Date.now() - t0;
  if (session) {
    const del = await fetch(url, { method: "DELETE", headers: { "Mcp-Session-Id": session, "Mcp-Protocol-Version": PROTOCOL } });
    await del.arrayBuffer();
  }
  return { label, status: res.status, contentType: res.headers.get("content-type"), events, end };
}

function check(r) {
  const problems = [];
  const msgs = r.events.filter((e) => e.data).map((e) => ({ t: e.t, m: JSON.parse(e.data) }));
  if (r.status !== 200) problems.push(`HTTP ${r.status}, want 200`);
  if (!(r.contentType ?? "").startsWith("text/event-stream")) problems.push(`Content-Type ${r.contentType}, want text/event-stream`);
  const progress = msgs.filter((x) => x.m.method === "notifications/progress");
  const finals = msgs.filter((x) => x.m.id === CALL_ID);
  const others = msgs.filter((x) => x.m.method !== "notifications/progress" && x.m.id !== CALL_ID);
  if (progress.length !== steps) problems.push(`${progress.length} progress events, want ${steps}`);
  progress.forEach((x, i) => {
    const p = x.m.params ?? {};
    if (p.progress !== i + 1 || p.total !== steps || p.progressToken !== TOKEN) {
      problems.push(`progress event ${i + 1} is ${JSON.stringify(p)}`);
    }
  });
  if (finals.length !== 1) problems.push(`${finals.length} results for id ${CALL_ID}, want 1`);
  const want = `Long running operation completed. Duration: ${duration} seconds, Steps: ${steps}.`;
  const text = finals[0]?.m.result?.content?.[0]?.text;
  if (text !== want) problems.push(`result text ${JSON.stringify(text)}, want ${JSON.stringify(want)}`);
  if (msgs.length && msgs[msgs.length - 1].m.id !== CALL_ID) problems.push("the result is not the last event");
  if (others.length) problems.push(`unexpected messages: ${JSON.stringify(others.map((x) => x.m))}`);
  if (progress.length && finals.length) {
    const lead = finals[0].t - progress[0].t;
    const need = (duration * 1000 * (steps - 1)) / steps / 2;
    if (lead < need) problems.push(`first progress event only ${lead}ms before the result (want >= ${need}ms): buffered, not streamed`);
  }
  return { msgs, problems };
}

function show(r, c) {
  console.log(`${r.label}: HTTP ${r.status} ${r.contentType}, ${r.events.length} SSE events ` +
              `(${r.events.filter((e) => !e.data).length} without data, ${r.events.filter((e) => e.id !== null).length} with id:), done at ${r.end}ms`);
  for (const e of r.events) {
    const m = e.data ? JSON.parse(e.data) : null;
    const what = !m ? "(priming, empty data)"
      : m.method ? `${m.method} ${JSON.stringify(m.params?.progress)}/${m.params?.total}`
      : `result id ${m.id}`;
    console.log(`  +${String(e.t).padStart(5)}ms  ${what}`);
  }
  for (const p of c.problems) console.log(`  PROBLEM: ${p}`);
}

let bad = 0;
let direct = null;
if (directUrl) {
  direct = await run("direct", directUrl);
  const dc = check(direct);
  show(direct, dc);
  if (dc.problems.length) { console.log("the direct server itself fails the checks"); bad++; }
  direct.msgs = dc.msgs.map((x) => x.m);
}
const tunnel = await run("tunnel", tunnelUrl);
const tc = check(tunnel);
show(tunnel, tc);
bad += tc.problems.length;
if (direct) {
  const tm = tc.msgs.map((x) => x.m);
  if (!isDeepStrictEqual(direct.msgs, tm)) {
    bad++;
    console.log("PROBLEM: the JSON-RPC messages differ from the direct connection's");
  } else {
    console.log(`same ${tm.length} JSON-RPC messages as the direct connection`);
  }
  const dp = direct.events.filter((e) => !e.data).length, tp = tunnel.events.filter((e) => !e.data).length;
  const di = direct.events.filter((e) => e.id !== null).length, ti = tunnel.events.filter((e) => e.id !== null).length;
  if (dp !== tp || di !== ti) {
    console.log(`note: wire framing differs: priming events direct ${dp} / tunnel ${tp}, ` +
                `events with id: direct ${di} / tunnel ${ti} (the tunnel re-frames each message as "data: <json>")`);
  }
}
console.log(bad ? `FAIL: ${bad} problem(s)` : "OK");
process.exit(bad ? 1 : 0);
