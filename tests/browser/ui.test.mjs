// The ops UI in a real browser: starts `tunnel-client dev proxy
// --embedded-mcp-stub` (control plane, agent and MCP stub in one process, on
// 127.0.0.1 ephemeral ports), checks the UI's HTTP headers, then drives /ui
// in headless Chromium through playwright-core:
//   - no console errors or page errors while the page runs;
//   - the tunnel id and the readiness are shown;
//   - a log line this test caused (a call on a unique unknown channel) shows
//     up in the Logs tab;
//   - the log-level toggle changes the level (checked via GET /api/status);
//   - tabs follow the keyboard (ArrowRight / End);
//   - an agent whose tunnel id the control plane does not know (`run`
//     against a separate `dev control-plane`) shows "not ready" with the
//     reason, the refused tunnel access and no successful poll.
// Screenshots go to ARTIFACT_DIR (their paths are printed).
//
// usage: node ui.test.mjs TUNNEL_CLIENT_BINARY ARTIFACT_DIR
// env:   TC_CHROMIUM (default /usr/bin/chromium)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const [bin, artifactDir] = process.argv.slice(2);
if (!bin || !artifactDir) {
  console.error('usage: node ui.test.mjs TUNNEL_CLIENT_BINARY ARTIFACT_DIR');
  process.exit(2);
}
const chromiumPath = process.env.TC_CHROMIUM || '/usr/bin/chromium';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error('FAIL: playwright-core is not installed; run: npm ci --prefix tests/browser');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'tc-ui-'));
let daemon = null;
let browser = null;
const extra = []; // more processes of the test (killed by cleanup)
let daemonOut = '';

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  for (const p of [daemon, ...extra]) {
    if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup().finally(() => process.exit(1)); });
}

async function fail(msg) {
  console.error('FAIL: ' + msg);
  if (daemonOut) console.error('daemon output (last 4000 chars):\n' + daemonOut.slice(-4000));
  await cleanup();
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const t0 = Date.now();
// One progress line per step, with the elapsed time (shows where time goes).
const step = (what) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// page.waitForFunction with a failure message that says what was awaited.
async function until(page, what, fn, arg, ms) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms });
  } catch (e) {
    throw new Error(`the page did not show ${what} within ${ms} ms`);
  }
}

async function waitFor(what, ms, fn) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`${what} not seen within ${ms} ms` + (last instanceof Error ? ` (${last.message})` : ''));
}

// A clean environment for the daemon, keeping the sanitizer settings.
function daemonEnv() {
  const env = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: work };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  return env;
}

async function main() {
  // Chromium starts slowly on a busy machine: launch it while the daemon
  // comes up. A fresh profile in the private temp dir.
  const launching = chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 }
  });
  // If a check fails before the launch is awaited, still close the browser.
  launching.then((b) => { if (browser === null) browser = b; }, () => {});
  // ---- the daemon ----------------------------------------------------------
  const infoFile = join(work, 'info.json');
  const healthFile = join(work, 'health.url');
  daemon = spawn(bin, ['dev', 'proxy', '--embedded-mcp-stub', '--url-file', infoFile,
    '--health-url-file', healthFile], {
    env: daemonEnv(),
    stdio: ['ignore', 'pipe', 'pipe']
  });
  daemon.stdout.on('data', (d) => { daemonOut += d; });
  daemon.stderr.on('data', (d) => { daemonOut += d; });
  await waitFor('the info and health URL files', 10000, () => {
    if (daemon.exitCode !== null) throw new Error('tunnel-client exited with ' + daemon.exitCode);
    return existsSync(infoFile) && existsSync(healthFile) &&
      readFileSync(infoFile, 'utf8').trim().endsWith('}') && readFileSync(healthFile, 'utf8') !== '';
  });
  step('daemon up');
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  const base = readFileSync(healthFile, 'utf8').trim();
  check(/^http:\/\/127\.0\.0\.1:\d+$/.test(base), `health URL is '${base}'`);
  const tunnelId = info.tunnel_id;
  check(typeof tunnelId === 'string' && tunnelId !== '', 'info JSON has no tunnel_id');

  // ---- the UI's HTTP surface -----------------------------------------------
  let r = await fetch(base + '/', { redirect: 'manual' });
  check(r.status === 302 && r.headers.get('location') === '/ui', `GET / -> ${r.status} ${r.headers.get('location')}, want 302 /ui`);
  r = await fetch(base + '/ui');
  check(r.status === 200, `GET /ui -> ${r.status}`);
  check((r.headers.get('content-type') || '').startsWith('text/html'), 'GET /ui is not text/html');
  const csp = r.headers.get('content-security-policy') || '';
  check(csp.includes("script-src 'self'") && csp.includes("default-src 'none'") && !csp.includes('unsafe-inline'),
    `weak or missing Content-Security-Policy: '${csp}'`);
  check(r.headers.get('x-frame-options') === 'DENY', 'X-Frame-Options is not DENY');
  check(r.headers.get('x-content-type-options') === 'nosniff', 'X-Content-Type-Options is not nosniff');
  check((r.headers.get('cache-control') || '').includes('no-cache'), 'the page is cacheable');
  check((await r.text()).includes('/assets/app.js'), 'the page does not load /assets/app.js');
  r = await fetch(base + '/ui', { method: 'HEAD' });
  check(r.status === 200 && (await r.text()) === '', `HEAD /ui -> ${r.status}, want 200 without a body`);
  r = await fetch(base + '/assets/app.js');
  check(r.status === 200 && (r.headers.get('content-type') || '').startsWith('text/javascript'),
    `GET /assets/app.js -> ${r.status} ${r.headers.get('content-type')}`);
  r = await fetch(base + '/assets/style.css');
  check(r.status === 200 && (r.headers.get('content-type') || '').startsWith('text/css'), 'style.css not served as text/css');
  r = await fetch(base + '/assets/nope.js');
  check(r.status === 404, `unknown asset -> ${r.status}, want 404`);
  r = await fetch(base + '/ui', { method: 'POST', body: 'x' });
  check(r.status === 405 && /GET/.test(r.headers.get('allow') || ''), `POST /ui -> ${r.status}, want 405 with Allow`);

  step('HTTP surface checked');
  // Readiness: the agent is ready once it reached the control plane.
  await waitFor('/api/status ready', 10000, async () => {
    const s = await (await fetch(base + '/api/status')).json();
    return s.ready === true;
  });

  // A real call (fills the latency histogram) and one on a unknown channel
  // named by a fresh marker: the agent logs it with the channel name.
  const marker = 'uimark' + randomBytes(6).toString('hex');
  for (const suffix of ['', '/' + marker]) {
    const resp = await fetch(info.mcp_url + suffix, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { input: 'ui' } } })
    });
    await resp.text();
    check(resp.status === (suffix ? 400 : 200), `MCP call${suffix ? ' on the marker channel' : ''} -> ${resp.status}`);
  }
  await waitFor('the marker in /api/logs', 5000, async () =>
    JSON.stringify(await (await fetch(base + '/api/logs?limit=5000')).json()).includes(marker));

  step('agent ready, marker logged');
  // ---- the browser ---------------------------------------------------------
  const problems = [];
  browser = await launching;
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (q) => problems.push(`request failed: ${q.url()} ${q.failure() && q.failure().errorText}`));
  page.on('response', (resp) => { if (resp.status() >= 400) problems.push(`HTTP ${resp.status()} for ${resp.url()}`); });
  // Requests the page started and that have not ended yet (finished or failed).
  let inFlight = 0;
  page.on('request', () => inFlight++);
  page.on('requestfinished', () => inFlight--);
  page.on('requestfailed', () => inFlight--);

  step('browser launched');
  await page.goto(base + '/ui');
  await until(page, 'the tunnel id', (id) => document.getElementById('ov-tunnel').textContent === id, tunnelId, 10000);
  check(await page.textContent('#hdr-tunnel') === tunnelId, 'the header does not show the tunnel id');
  await until(page, 'readiness "ready"', () => /^ready/.test(document.getElementById('ov-readiness').textContent), null, 10000);
  check(/^ready/.test(await page.textContent('#hdr-ready')), 'the readiness badge does not say ready');
  check((await page.textContent('#ov-version')).trim() !== '', 'no version shown');

  step('tunnel id and readiness shown');
  // Keyboard: ArrowRight from Overview selects Channels; End selects Logs.
  await page.focus('#tab-overview');
  await page.keyboard.press('ArrowRight');
  check(await page.getAttribute('#tab-channels', 'aria-selected') === 'true', 'ArrowRight did not select Channels');
  check(await page.isVisible('#panel-channels'), 'the Channels panel is not shown');
  await until(page, 'a channel row', () => document.querySelectorAll('#channels-body th[scope="row"]').length > 0, null, 10000);
  await page.keyboard.press('End');
  check(await page.getAttribute('#tab-logs', 'aria-selected') === 'true', 'End did not select Logs');

  // The Logs tab shows the line this test caused.
  await until(page, `the log line with ${marker}`, (m) => document.getElementById('logs-body').textContent.includes(m), marker, 10000);

  step('marker shown in Logs');
  // The log-level toggle.
  await page.selectOption('#log-level', 'debug');
  await until(page, "'set to debug' after choosing debug", () => document.getElementById('level-msg').textContent === 'set to debug', null, 5000);
  const st = await (await fetch(base + '/api/status')).json();
  check(st.log_level === 'debug', `after the toggle /api/status log_level is '${st.log_level}', want debug`);

  step('log level toggled');
  // Metrics: both chart families are found once a scrape ran.
  await page.click('#tab-metrics');
  await until(page, 'charts with both metric families', () => document.getElementById('metrics-error').hidden &&
    document.getElementById('rate-legend').children.length > 0, null, 10000);

  step('metrics charted');
  await page.click('#tab-overview');
  mkdirSync(artifactDir, { recursive: true });
  const shot = join(artifactDir, 'ui-overview.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#tab-logs');
  const phone = join(artifactDir, 'ui-logs-phone.png');
  await page.screenshot({ path: phone });
  console.log('screenshot: ' + phone);

  // Let the requests in flight end, so that their errors are seen.
  await waitFor('the end of the requests in flight', 10000, () => inFlight === 0);
  check(problems.length === 0, 'the page reported problems:\n  ' + problems.join('\n  '));

  // Missing endpoints: the page says "unavailable" and throws nothing.
  step('missing endpoints');
  const degraded = await browser.newPage();
  const thrown = [];
  degraded.on('pageerror', (e) => thrown.push(e.message));
  await degraded.route('**/api/channels', (rt) => rt.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not here"}' }));
  await degraded.route('**/api/logs?*', (rt) => rt.fulfill({ status: 500, contentType: 'text/plain', body: 'boom' }));
  await degraded.route('**/metrics', (rt) => rt.abort());
  await degraded.goto(base + '/ui#channels');
  await until(degraded, "'unavailable' for channels, logs and metrics", () =>
    /unavailable/.test(document.getElementById('channels-error').textContent) &&
    /unavailable/.test(document.getElementById('logs-error').textContent) &&
    /unavailable/.test(document.getElementById('metrics-error').textContent), null, 10000);
  await until(degraded, 'the tunnel id with endpoints missing',
    (id) => document.getElementById('hdr-tunnel').textContent === id, tunnelId, 10000);
  check(thrown.length === 0, 'the page threw with endpoints missing: ' + thrown.join('; '));
  await degraded.close();

  // ---- an unknown tunnel id -------------------------------------------------
  step('unknown tunnel id');
  const cpFile = join(work, 'cp.url');
  const cp = spawn(bin, ['dev', 'control-plane', '--listen', '127.0.0.1:0', '--url-file', cpFile], {
    env: daemonEnv(), stdio: ['ignore', 'pipe', 'pipe']
  });
  extra.push(cp);
  await waitFor('the dev control plane URL file', 10000, () => existsSync(cpFile) && readFileSync(cpFile, 'utf8') !== '');
  const cpUrl = readFileSync(cpFile, 'utf8').trim();
  const badFile = join(work, 'bad-health.url');
  const bad = spawn(bin, ['run', '--embedded-mcp-stub', '--control-plane.base-url', cpUrl,
    '--control-plane.tunnel-id', 'tunnel_33333333333333333333333333333333', '--control-plane.poll-timeout', '1s',
    '--health.listen-addr', '127.0.0.1:0', '--health.url-file', badFile], {
    env: { ...daemonEnv(), CONTROL_PLANE_API_KEY: 'local-tunnel-client-dev-proxy' }, stdio: ['ignore', 'pipe', 'pipe']
  });
  extra.push(bad);
  bad.stdout.on('data', (d) => { daemonOut += d; });
  bad.stderr.on('data', (d) => { daemonOut += d; });
  await waitFor('the second agent\'s health URL file', 10000, () => existsSync(badFile) && readFileSync(badFile, 'utf8') !== '');
  const badBase = readFileSync(badFile, 'utf8').trim();
  const unknown = /^control plane does not know this tunnel id \(HTTP 404\): check control_plane\.tunnel_id/;
  await waitFor('/readyz 503 for the unknown tunnel id', 10000, async () => {
    const rz = await fetch(badBase + '/readyz');
    return rz.status === 503 && unknown.test(await rz.text());
  });
  const unknownPage = await browser.newPage();
  const unknownProblems = [];
  unknownPage.on('pageerror', (e) => unknownProblems.push('page error: ' + e.message));
  unknownPage.on('console', (m) => { if (m.type() === 'error') unknownProblems.push('console error: ' + m.text()); });
  await unknownPage.goto(badBase + '/ui');
  await until(unknownPage, 'the refusal as the readiness', (re) =>
    new RegExp(re).test(document.getElementById('ov-readiness').textContent), unknown.source, 10000);
  check(await unknownPage.textContent('#hdr-ready') === 'not ready', 'the badge does not say "not ready" for an unknown tunnel id');
  check(await unknownPage.textContent('#cp-access') === 'refused (HTTP 404, see Readiness)',
    `tunnel access shows '${await unknownPage.textContent('#cp-access')}'`);
  check(await unknownPage.textContent('#cp-last-ok-poll') === 'never', 'a successful poll is shown although none happened');
  check(await unknownPage.textContent('#cp-reachable') === 'yes', 'the control plane is not shown as reachable');
  const badShot = join(artifactDir, 'ui-unknown-tunnel.png');
  await unknownPage.screenshot({ path: badShot, fullPage: true });
  console.log('screenshot: ' + badShot);
  check(unknownProblems.length === 0, 'the page reported problems:\n  ' + unknownProblems.join('\n  '));
  // The working agent's page says the opposite.
  await until(page, "tunnel access 'accepted' for the working agent", () =>
    document.getElementById('cp-access').textContent === 'accepted' &&
    !['never', '…', ''].includes(document.getElementById('cp-last-ok-poll').textContent), null, 10000);
  await unknownPage.close();
  bad.kill('SIGTERM');
  cp.kill('SIGTERM');

  await browser.close();
  browser = null;
  daemon.kill('SIGTERM');
  const rc = await new Promise((res) => {
    if (daemon.exitCode !== null) return res(daemon.exitCode);
    const t = setTimeout(() => res('timeout'), 10000);
    daemon.once('exit', (code) => { clearTimeout(t); res(code); });
  });
  check(rc === 0, `tunnel-client exit status ${rc} after SIGTERM, want 0`);
}

try {
  await main();
} catch (e) {
  await fail(e && e.message ? e.message : String(e));
}
await cleanup();
console.log('ui: all checks passed');
