// k8s_manifests.mjs — checks of deploy/kubernetes/*.yaml without a cluster.
//
// usage: node k8s_manifests.mjs validate MANIFEST_DIR
//        node k8s_manifests.mjs probe MANIFEST_DIR TUNNEL_CLIENT_BINARY POD_IP
//
// validate: every object (YAML parsed as kubectl does, YAML 1.1) passes the
//   kubernetes-models schema validators, and has no field the schema does
//   not know (kubectl --validate=strict, the default since 1.27, refuses
//   those); then what the manifests promise: probes /healthz and /readyz on
//   the port HEALTH_LISTEN_ADDR opens, scrape annotations on that port and
//   /metrics, the API key as a file from a Secret volume (never an env
//   value), non-root with a read-only root file system and every capability
//   dropped, memory requests and limits, terminationGracePeriodSeconds above
//   SHUTDOWN_GRACE_PERIOD, and for the dedicated Deployment at least 2
//   replicas and a PodDisruptionBudget keeping one.
// probe: for each pod template, start the binary the way the pod would
//   (the manifest's env and args; only MCP_SERVER_URL, the control-plane URL
//   and the Secret's mount point are replaced by local stand-ins: `dev
//   mcp-stub`, `dev control-plane` with the manifest's tunnel id and the
//   example Secret's key), then send what the kubelet and Prometheus send:
//   GET http://POD_IP:PORT/{healthz,readyz,metrics} (Host: POD_IP:PORT), the
//   Service DNS name as Host, and a port-mapped Host (127.0.0.1:18080). Run
//   it in a network namespace where POD_IP is a local address and PORT (from
//   the manifest) is free (k8s_probes.sh does).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import http from "node:http";
import YAML from "yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Secret } from "kubernetes-models/v1";

const MODELS = {
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/Secret": Secret,
};
const AGENT = "tunnel-client"; // the agent's container name

const [mode, dir, bin, podIP] = process.argv.slice(2);
const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);

function loadAll() {
  const docs = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".yaml")).sort()) {
    const parsed = YAML.parseAllDocuments(readFileSync(join(dir, f), "utf8"), { version: "1.1" });
    for (const d of parsed) {
      if (d.errors.length) fail(f, `YAML: ${d.errors[0].message}`);
      const obj = d.toJS();
      if (obj != null) docs.push({ file: f, obj });
    }
  }
  return docs;
}

// A field the schema does not know leaves validation unchanged when its
// value is replaced by one of another JSON type; a known field fails.
function unknownFields(Model, root) {
  const found = [];
  const walk = (node, path) => {
    if (node === null || typeof node !== "object") return;
    for (const key of Object.keys(node)) {
      const val = node[key];
      if (!Array.isArray(node)) {
        const probe = typeof val === "object" && val !== null ? 1.5 : { probe: true };
        node[key] = probe;
        let stillValid = true;
        try { new Model(root).validate(); } catch { stillValid = false; }
        node[key] = val;
        if (stillValid) { found.push([...path, key].join(".")); continue; }
      }
      walk(val, [...path, key]);
    }
  };
  walk(root, []);
  return found;
}

// Go-style duration ("20s", "1m30s", "1500ms") in seconds.
function seconds(d) {
  const units = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0, rest = String(d);
  const re = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/;
  if (!rest.length) return NaN;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) return NaN;
    total += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

function envOf(container) {
  const env = {};
  for (const e of container.env ?? []) {
    if (e.valueFrom) env[e.name] = { valueFrom: e.valueFrom };
    else env[e.name] = String(e.value ?? "");
  }
  return env;
}

function listenPort(addr) {
  const m = /:(\d+)$/.exec(addr ?? "");
  return m ? Number(m[1]) : NaN;
}

// The pod templates that run the agent, with what the checks need.
function agentPods(docs) {
  const pods = [];
  for (const { file, obj } of docs) {
    if (obj.kind !== "Deployment") continue;
    const spec = obj.spec.template.spec;
    const c = spec.containers.find((x) => x.name === AGENT);
    if (!c) { fail(`${file} ${obj.metadata.name}`, `no container named ${AGENT}`); continue; }
    pods.push({ file, where: `${file} ${obj.kind}/${obj.metadata.name}`, deploy: obj, spec, c,
                env: envOf(c), annotations: obj.spec.template.metadata?.annotations ?? {} });
  }
  return pods;
}

function portOf(p, ref) {
  if (typeof ref === "number") return ref;
  const named = (p.c.ports ?? []).find((x) => x.name === ref);
  return named ? named.containerPort : NaN;
}

// The Secret file the API key comes from: {mountPath, key, secretName}.
function keySource(p) {
  const args = p.c.args ?? [];
  const i = args.indexOf("--control-plane.api-key");
  const ref = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith("--control-plane.api-key="))?.split("=")[1];
  if (!ref || !ref.startsWith("file:")) return null;
  const path = ref.slice(5);
  for (const m of p.c.volumeMounts ?? []) {
    if (!path.startsWith(m.mountPath + "/")) continue;
    const vol = (p.spec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.secret) return null;
    return { mountPath: m.mountPath, key: path.slice(m.mountPath.length + 1), secretName: vol.secret.secretName };
  }
  return null;
}

function validate(docs) {
  for (const { file, obj } of docs) {
    const id = `${obj.apiVersion}/${obj.kind}`;
    const where = `${file} ${obj.kind}/${obj.metadata?.name}`;
    const Model = MODELS[id];
    if (!Model) { fail(where, `no validator for ${id}`); continue; }
    try { new Model(obj).validate(); } catch (e) { fail(where, `schema: ${e.message}`); continue; }
    for (const f of unknownFields(Model, structuredClone(obj))) fail(where, `unknown field ${f}`);
    console.log(`valid: ${where}`);
  }
  const secrets = docs.filter((d) => d.obj.kind === "Secret").map((d) => d.obj);
  const pdbs = docs.filter((d) => d.obj.kind === "PodDisruptionBudget").map((d) => d.obj);
  for (const p of agentPods(docs)) {
    const { where, spec, c, env, annotations } = p;
    const before = errors.length;
    const port = listenPort(env.HEALTH_LISTEN_ADDR);
    if (!Number.isInteger(port)) fail(where, `HEALTH_LISTEN_ADDR ${JSON.stringify(env.HEALTH_LISTEN_ADDR)} has no port`);
    if (!/^(|0\.0\.0\.0|\[::\])$/.test((env.HEALTH_LISTEN_ADDR ?? "").replace(/:\d+$/, "")))
      fail(where, "HEALTH_LISTEN_ADDR must listen on every interface (the kubelet probes the pod IP)");
    const live = c.livenessProbe?.httpGet, ready = c.readinessProbe?.httpGet;
    if (live?.path !== "/healthz") fail(where, `liveness path ${live?.path}, want /healthz`);
    if (ready?.path !== "/readyz") fail(where, `readiness path ${ready?.path}, want /readyz`);
    for (const [name, probe] of [["liveness", live], ["readiness", ready]])
      if (portOf(p, probe?.port) !== port) fail(where, `${name} probe port ${probe?.port} is not HEALTH_LISTEN_ADDR's ${port}`);
    if (annotations["prometheus.io/scrape"] !== "true") fail(where, "prometheus.io/scrape is not \"true\"");
    if (Number(annotations["prometheus.io/port"]) !== port) fail(where, `prometheus.io/port ${annotations["prometheus.io/port"]} is not ${port}`);
    if (annotations["prometheus.io/path"] !== "/metrics") fail(where, "prometheus.io/path is not /metrics");
    const sc = c.securityContext ?? {}, psc = spec.securityContext ?? {};
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) fail(where, "runAsNonRoot is not set");
    if (sc.readOnlyRootFilesystem !== true) fail(where, "readOnlyRootFilesystem is not true");
    if (sc.allowPrivilegeEscalation !== false) fail(where, "allowPrivilegeEscalation is not false");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(where, "capabilities.drop does not include ALL");
    const res = c.resources ?? {};
    if (!res.requests?.memory || !res.limits?.memory) fail(where, "memory requests and limits are required");
    if (!res.requests?.cpu) fail(where, "a cpu request is required");
    const grace = seconds(env.SHUTDOWN_GRACE_PERIOD ?? "15s");
    if (!(spec.terminationGracePeriodSeconds > grace))
      fail(where, `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} is not above SHUTDOWN_GRACE_PERIOD (${grace}s)`);
    for (const k of ["CONTROL_PLANE_API_KEY", "OPENAI_API_KEY"])
      if (k in env) fail(where, `${k} in env: mount the key from the Secret as a file instead`);
    const ks = keySource(p);
    if (!ks) fail(where, "--control-plane.api-key must be file:<path> in a Secret volume mount");
    else {
      const s = secrets.find((x) => x.metadata.name === ks.secretName);
      if (!s) fail(where, `Secret ${ks.secretName} is not among the manifests`);
      else if (!(ks.key in (s.stringData ?? {})) && !(ks.key in (s.data ?? {})))
        fail(where, `Secret ${ks.secretName} has no key ${ks.key}`);
    }
    if (p.file === "deployment.yaml") {
      if (!(p.deploy.spec.replicas >= 2)) fail(where, `replicas ${p.deploy.spec.replicas}, want at least 2 (active-active)`);
      const labels = p.deploy.spec.template.metadata.labels;
      const pdb = pdbs.find((b) => Object.entries(b.spec.selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
      if (!pdb) fail(where, "no PodDisruptionBudget selects its pods");
      else if (!(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < p.deploy.spec.replicas))
        fail(where, `PodDisruptionBudget minAvailable ${pdb.spec.minAvailable} must keep 1..replicas-1`);
    }
    if (errors.length === before)
      console.log(`consistent: ${where} (port ${port}, grace ${grace}s < ${spec.terminationGracePeriodSeconds}s)`);
  }
}

// ---- probe ----------------------------------------------------------------

function start(cmd, args, env, log) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  child.log = "";
  child.stdout.on("data", (b) => (child.log += b));
  child.stderr.on("data", (b) => (child.log += b));
  child.exited = new Promise((r) => child.on("exit", (code, sig) => r({ code, sig })));
  return child;
}

async function waitFile(path, child, what) {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path) && readFileSync(path, "utf8").length) return readFileSync(path, "utf8").trim();
    if (child.exitCode !== null) throw new Error(`${what} exited: ${child.log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} wrote no ${path} within 10s`);
}

function get(ip, port, path, host) {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port, path, headers: { Host: host }, timeout: 3000 }, (res) => {
      let b = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode, body: b }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
  });
}

async function probe(docs) {
  const secrets = docs.filter((d) => d.obj.kind === "Secret").map((d) => d.obj);
  for (const p of agentPods(docs)) {
    const { where, env, c, spec } = p;
    const work = mkdtempSync(join(tmpdir(), "tc-k8s-"));
    const children = [];
    try {
      const ks = keySource(p);
      const secret = secrets.find((x) => x.metadata.name === ks.secretName);
      const key = secret.stringData?.[ks.key] ?? Buffer.from(secret.data[ks.key], "base64").toString();
      const mount = join(work, "secret-mount");
      mkdirSync(mount);
      writeFileSync(join(mount, ks.key), key, { mode: 0o400 });
      const base = { PATH: process.env.PATH, HOME: work };
      const stub = start(bin, ["dev", "mcp-stub", "--listen-addr", "127.0.0.1:0", "--url-file", join(work, "stub.url")], base);
      children.push(stub);
      const stubUrl = await waitFile(join(work, "stub.url"), stub, "dev mcp-stub");
      const tid = env.CONTROL_PLANE_TUNNEL_ID;
      const cp = start(bin, ["dev", "control-plane", "--listen", "127.0.0.1:0", "--url-file", join(work, "cp.url"),
                             "--tunnel-id", tid, "--api-key", key], base);
      children.push(cp);
      const cpUrl = await waitFile(join(work, "cp.url"), cp, "dev control-plane");
      // The pod's env, with the stand-ins for what only exists in a cluster.
      const agentEnv = { ...base };
      for (const [k, v] of Object.entries(env)) {
        if (typeof v !== "string") throw new Error(`${where}: env ${k} uses valueFrom, which this test cannot reproduce`);
        agentEnv[k] = v;
      }
      agentEnv.MCP_SERVER_URL = `${stubUrl}/mcp`;
      agentEnv.CONTROL_PLANE_BASE_URL = cpUrl;
      const args = ["run", ...(c.args ?? []).map((a) => a.split(ks.mountPath + "/").join(mount + "/"))];
      const agent = start(bin, args, agentEnv);
      children.push(agent);
      const port = listenPort(env.HEALTH_LISTEN_ADDR);
      let ready = null;
      for (let i = 0; i < 300 && !ready; i++) {
        if (agent.exitCode !== null) throw new Error(`${where}: the agent exited: ${agent.log}`);
        const r = await get(podIP, port, "/readyz", `${podIP}:${port}`);
        if (r.status === 200) ready = r;
        else await new Promise((res) => setTimeout(res, 50));
      }
      const hosts = [
        [`${podIP}:${port}`, "kubelet and Prometheus by pod IP"],
        [`tunnel-client.mcp.svc.cluster.local:${port}`, "Prometheus by Service DNS name"],
        ["127.0.0.1:18080", "a port mapping 18080 -> 8080"],
      ];
      for (const [host, who] of hosts) {
        for (const [path, want] of [["/healthz", /^live/], ["/readyz", /^ready/], ["/metrics", /^tunnel_client_ready 1$/m]]) {
          const r = await get(podIP, port, path, host);
          const ok = r.status === 200 && want.test(r.body);
          console.log(`${ok ? "ok  " : "FAIL"} ${where}: GET ${path} Host: ${host} (${who}) -> ${r.status}`);
          if (!ok) fail(where, `GET ${path} with Host: ${host} (${who}) answered ${r.status} ${r.body.slice(0, 120).trim()}`);
        }
      }
      if (!ready) fail(where, `/readyz never answered 200 on ${podIP}:${port}`);
      // The kubelet's SIGTERM: drained and exited 0 within the grace period.
      const t0 = Date.now();
      agent.kill("SIGTERM");
      const killer = setTimeout(() => agent.kill("SIGKILL"), spec.terminationGracePeriodSeconds * 1000);
      const { code, sig } = await agent.exited;
      clearTimeout(killer);
      if (code !== 0) fail(where, `exit ${code ?? sig} after SIGTERM (within ${Date.now() - t0} ms), want 0`);
      if (agent.log.includes(key)) fail(where, "the API key appears in the agent's output");
    } catch (e) {
      fail(where, e.message);
    } finally {
      for (const ch of children) if (ch.exitCode === null) ch.kill("SIGKILL");
      await Promise.all(children.map((ch) => ch.exited));
      rmSync(work, { recursive: true, force: true });
    }
  }
}

const docs = loadAll();
if (mode === "validate") validate(docs);
else if (mode === "probe") await probe(docs);
else fail("usage", "node k8s_manifests.mjs validate|probe MANIFEST_DIR [BINARY POD_IP]");
if (errors.length) {
  for (const e of errors) console.error(`FAIL ${e}`);
  process.exit(1);
}
console.log(`ok [k8s ${mode}]`);
