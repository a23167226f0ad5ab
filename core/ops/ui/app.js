// The tunnel-client ops page: polls the admin JSON API (/api/status,
// /api/channels, /api/logs) and scrapes /metrics, and renders them into the
// static markup of index.html. No framework, no inline code (the page is
// served with a strict Content-Security-Policy), text only through
// textContent. Every endpoint may be missing or failing: the section then
// shows "unavailable" and the rest of the page goes on.
'use strict';

(function () {
  const STATUS_EVERY_MS = 5000;
  const CHANNELS_EVERY_MS = 5000;
  const METRICS_EVERY_MS = 5000;
  const LOGS_EVERY_MS = 2000;
  const METRICS_KEEP_MS = 10 * 60 * 1000;
  const LOG_KEEP_LINES = 2000;
  const LEVELS = ['debug', 'info', 'warn', 'error'];

  // The metric families the charts read. Exact names first; when absent,
  // a family whose name matches the pattern is used instead.
  const COMMANDS_FAMILY = 'tunnel_client_commands_completed_total';
  const COMMANDS_PATTERN = /command.*_total$/;
  const LATENCY_FAMILY = 'tunnel_client_mcp_call_duration_seconds';
  const LATENCY_PATTERN = /(call|request).*duration_seconds$/;

  const $ = (id) => document.getElementById(id);

  // ---- fetching ------------------------------------------------------------

  // Resolves to {ok:true, data} or {ok:false, why}; never rejects.
  async function request(path, opts, asText) {
    let resp;
    try {
      resp = await fetch(path, Object.assign({ cache: 'no-store', credentials: 'same-origin' }, opts || {}));
    } catch (e) {
      return { ok: false, why: 'unreachable' };
    }
    let body;
    try {
      body = asText ? await resp.text() : await resp.json();
    } catch (e) {
      return { ok: false, why: resp.ok ? 'unreadable answer' : 'HTTP ' + resp.status };
    }
    if (!resp.ok) {
      let why = 'HTTP ' + resp.status;
      if (body && typeof body === 'object' && typeof body.error === 'string') why += ': ' + body.error;
      else if (typeof body === 'string' && body.trim() !== '' && body.length < 200) why += ': ' + body.trim();
      return { ok: false, why: why };
    }
    return { ok: true, data: body };
  }

  // Run fn every `ms`, one at a time, never throwing out.
  function every(ms, fn) {
    let running = false;
    const tick = async () => {
      if (running) return;
      running = true;
      try { await fn(); } catch (e) { /* a rendering bug must not stop polling */ }
      running = false;
    };
    tick();
    setInterval(tick, ms);
  }

  // ---- small DOM helpers ---------------------------------------------------

  function setText(id, value) {
    const el = $(id);
    if (el) el.textContent = value === undefined || value === null || value === '' ? '—' : String(value);
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function showNotice(id, text) {
    const n = $(id);
    if (!n) return;
    n.textContent = text || '';
    n.hidden = !text;
  }

  function placeholderRow(tbody, cols, text) {
    tbody.replaceChildren();
    const tr = el('tr');
    const td = el('td', text, 'muted');
    td.colSpan = cols;
    tr.append(td);
    tbody.append(tr);
  }

  function str(v) { return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v); }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }

  function formatDuration(seconds) {
    const s = num(seconds);
    if (s === null) return '';
    let rest = Math.floor(s);
    const d = Math.floor(rest / 86400); rest -= d * 86400;
    const h = Math.floor(rest / 3600); rest -= h * 3600;
    const m = Math.floor(rest / 60); rest -= m * 60;
    if (d > 0) return d + 'd ' + h + 'h ' + m + 'm';
    if (h > 0) return h + 'h ' + m + 'm ' + rest + 's';
    if (m > 0) return m + 'm ' + rest + 's';
    return rest + 's';
  }

  function formatTime(rfc3339) {
    if (typeof rfc3339 !== 'string' || rfc3339 === '') return '';
    const t = new Date(rfc3339);
    if (isNaN(t.getTime())) return rfc3339;
    return t.toLocaleString();
  }

  function formatNumber(v, digits) {
    const n = num(v);
    if (n === null) return '';
    return n.toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 0 : digits });
  }

  // ---- tabs ----------------------------------------------------------------

  const TABS = ['overview', 'channels', 'metrics', 'logs'];
  let activeTab = 'overview';

  function selectTab(name, focus) {
    if (TABS.indexOf(name) < 0) name = 'overview';
    activeTab = name;
    for (const t of TABS) {
      const tab = $('tab-' + t);
      const panel = $('panel-' + t);
      const on = t === name;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
    }
    if (focus) $('tab-' + name).focus();
    if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
    if (name === 'metrics') drawCharts();
    if (name === 'logs') scrollLogsIfFollowing();
  }

  function initTabs() {
    for (const t of TABS) {
      const tab = $('tab-' + t);
      tab.addEventListener('click', () => selectTab(t, false));
      tab.addEventListener('keydown', (ev) => {
        const i = TABS.indexOf(t);
        let next = null;
        if (ev.key === 'ArrowRight') next = TABS[(i + 1) % TABS.length];
        else if (ev.key === 'ArrowLeft') next = TABS[(i + TABS.length - 1) % TABS.length];
        else if (ev.key === 'Home') next = TABS[0];
        else if (ev.key === 'End') next = TABS[TABS.length - 1];
        if (next) { ev.preventDefault(); selectTab(next, true); }
      });
    }
    window.addEventListener('hashchange', () => selectTab(location.hash.slice(1), false));
    selectTab(location.hash.slice(1) || 'overview', false);
  }

  // ---- overview (/api/status) ----------------------------------------------

  let levelBusy = false;

  function renderReadiness(s) {
    const badge = $('hdr-ready');
    const ready = s.ready === true;
    const text = str(s.readiness) || (ready ? 'ready' : 'not ready');
    badge.textContent = ready ? text : 'not ready';
    badge.className = 'badge ' + (ready ? 'badge-ok' : 'badge-bad');
    badge.title = text;
    const r = $('ov-readiness');
    r.textContent = text;
    r.className = 'readiness ' + (ready ? 'ok' : 'bad');
    const list = $('ov-reasons');
    list.replaceChildren();
    const reasons = Array.isArray(s.readiness_reasons) ? s.readiness_reasons : [];
    for (const reason of reasons) {
      if (str(reason) !== '' && str(reason) !== text) list.append(el('li', str(reason)));
    }
  }

  function renderModules(mods) {
    const body = $('ov-modules');
    if (!Array.isArray(mods) || mods.length === 0) {
      placeholderRow(body, 3, Array.isArray(mods) ? 'no modules loaded' : 'unavailable');
      return;
    }
    body.replaceChildren();
    for (const m of mods) {
      const tr = el('tr');
      tr.append(el('td', str(m && m.name)), el('td', str(m && m.version)),
        el('td', Array.isArray(m && m.kinds) ? m.kinds.join(', ') : ''));
      body.append(tr);
    }
  }

  function renderStatus(s) {
    setText('hdr-tunnel', s.tunnel_id);
    setText('ov-tunnel', s.tunnel_id);
    setText('ov-instance', s.client_instance_id);
    setText('ov-version', s.version);
    setText('ov-started', formatTime(s.started_at));
    setText('ov-uptime', formatDuration(s.uptime_seconds));
    setText('ov-level', s.log_level);
    renderReadiness(s);
    const cp = s.control_plane && typeof s.control_plane === 'object' ? s.control_plane : {};
    setText('cp-url', cp.base_url);
    setText('cp-reachable', cp.reachable === true ? 'yes' : cp.reachable === false ? 'no' : '');
    const refused = typeof cp.refusal === 'string' && cp.refusal !== '';
    setText('cp-access', refused ? 'refused (HTTP ' + str(cp.refused_status) + ', see Readiness)'
      : cp.last_successful_poll_at ? 'accepted' : 'not confirmed yet');
    $('cp-access').title = refused ? cp.refusal : '';
    setText('cp-last-poll', cp.last_poll_at ? formatTime(cp.last_poll_at) : 'never');
    setText('cp-last-ok-poll', cp.last_successful_poll_at ? formatTime(cp.last_successful_poll_at) : 'never');
    setText('cp-polls', formatNumber(cp.polls_total));
    setText('cp-poll-errors', formatNumber(cp.poll_errors_total));
    setText('cp-last-error', cp.last_error ? str(cp.last_error) : 'none');
    renderModules(s.modules);
    const sel = $('log-level');
    if (!levelBusy && LEVELS.indexOf(s.log_level) >= 0 && document.activeElement !== sel) sel.value = s.log_level;
    if (typeof s.tunnel_id === 'string' && s.tunnel_id !== '') document.title = 'tunnel-client · ' + s.tunnel_id;
  }

  function statusUnavailable(why) {
    showNotice('status-error', 'Status unavailable (' + why + ').');
    const badge = $('hdr-ready');
    badge.textContent = 'status unavailable';
    badge.className = 'badge badge-unknown';
    for (const id of ['ov-tunnel', 'ov-instance', 'ov-version', 'ov-started', 'ov-uptime', 'ov-level',
      'ov-readiness', 'cp-url', 'cp-reachable', 'cp-access', 'cp-last-poll', 'cp-last-ok-poll', 'cp-polls',
      'cp-poll-errors', 'cp-last-error']) {
      const e = $(id);
      if (e && (e.textContent === '…' || e.textContent === '')) e.textContent = 'unavailable';
    }
    if ($('hdr-tunnel').textContent === '…') $('hdr-tunnel').textContent = 'unavailable';
    const body = $('ov-modules');
    if (body.textContent === '…') placeholderRow(body, 3, 'unavailable');
  }

  async function pollStatus() {
    const r = await request('/api/status');
    if (!r.ok || !r.data || typeof r.data !== 'object') {
      statusUnavailable(r.ok ? 'unexpected answer' : r.why);
      return;
    }
    showNotice('status-error', '');
    renderStatus(r.data);
    setText('foot-updated', 'Updated ' + new Date().toLocaleTimeString());
  }

  // ---- log level toggle (PUT /api/log-level) -------------------------------

  function initLevelToggle() {
    const sel = $('log-level');
    sel.addEventListener('change', async () => {
      const level = sel.value;
      levelBusy = true;
      setText('level-msg', 'saving…');
      const r = await request('/api/log-level', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ level: level })
      });
      levelBusy = false;
      if (r.ok && r.data && r.data.level) {
        $('level-msg').textContent = 'set to ' + r.data.level;
        setText('ov-level', r.data.level);
      } else {
        $('level-msg').textContent = 'not changed (' + (r.ok ? 'unexpected answer' : r.why) + ')';
      }
      pollStatus();
    });
  }

  // ---- channels (/api/channels) --------------------------------------------

  function probeCell(ch) {
    const td = el('td');
    const p = str(ch.probe) || 'none';
    const span = el('span', p, 'badge badge-' + (p === 'ok' ? 'ok' : p === 'failed' ? 'bad' : p === 'pending' ? 'warn' : 'unknown'));
    td.append(span);
    if (ch.probe_detail) td.append(el('div', str(ch.probe_detail), 'detail'));
    return td;
  }

  function cell(label, text, cls) {
    const td = el('td', text === '' ? '—' : text, cls);
    td.dataset.label = label;
    return td;
  }

  async function pollChannels() {
    const body = $('channels-body');
    const r = await request('/api/channels');
    const list = r.ok && r.data && Array.isArray(r.data.channels) ? r.data.channels : null;
    if (list === null) {
      showNotice('channels-error', 'Channels unavailable (' + (r.ok ? 'unexpected answer' : r.why) + ').');
      if (body.textContent === '…' || body.rows.length === 0) placeholderRow(body, 8, 'unavailable');
      return;
    }
    showNotice('channels-error', '');
    if (list.length === 0) { placeholderRow(body, 8, 'no channels configured'); return; }
    body.replaceChildren();
    for (const ch of list) {
      if (!ch || typeof ch !== 'object') continue;
      const tr = el('tr');
      const name = el('th', str(ch.name) || '(default)');
      name.scope = 'row';
      name.dataset.label = 'Channel';
      const probe = probeCell(ch);
      probe.dataset.label = 'Probe';
      tr.append(name,
        cell('Transport', str(ch.transport)),
        cell('Target', str(ch.target), 'mono'),
        cell('In flight', formatNumber(ch.in_flight), 'num'),
        cell('Requests', formatNumber(ch.requests_total), 'num'),
        cell('Errors', formatNumber(ch.errors_total), 'num'),
        cell('Last error', ch.last_error ? str(ch.last_error) : 'none', ch.last_error ? 'err' : 'muted'),
        probe);
      body.append(tr);
    }
  }

  // ---- metrics (/metrics, Prometheus text) ---------------------------------

  // Parse the Prometheus text format into Map(name -> [{labels, value}]);
  // `types` maps each family declared by "# TYPE" (even one with no series
  // yet) to its type. Unknown or malformed lines are skipped.
  function parsePrometheus(text) {
    const out = new Map();
    out.types = new Map();
    const lines = text.split('\n');
    for (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue;
      if (line[0] === '#') {
        const m = /^#\s*TYPE\s+([A-Za-z_:][A-Za-z0-9_:]*)\s+(\w+)/.exec(line);
        if (m) out.types.set(m[1], m[2]);
        continue;
      }
      let i = 0;
      while (i < line.length && /[A-Za-z0-9_:]/.test(line[i])) i++;
      const name = line.slice(0, i);
      if (name === '') continue;
      const labels = {};
      if (line[i] === '{') {
        i++;
        let bad = false;
        while (i < line.length && line[i] !== '}') {
          const eq = line.indexOf('=', i);
          if (eq < 0 || line[eq + 1] !== '"') { bad = true; break; }
          const key = line.slice(i, eq).trim();
          let j = eq + 2, val = '';
          while (j < line.length && line[j] !== '"') {
            if (line[j] === '\\' && j + 1 < line.length) {
              const c = line[j + 1];
              val += c === 'n' ? '\n' : c;
              j += 2;
            } else {
              val += line[j++];
            }
          }
          if (j >= line.length) { bad = true; break; }
          labels[key] = val;
          i = j + 1;
          while (i < line.length && (line[i] === ',' || line[i] === ' ')) i++;
        }
        if (bad || line[i] !== '}') continue;
        i++;
      }
      const parts = line.slice(i).trim().split(/\s+/);
      if (parts.length === 0 || parts[0] === '') continue;
      const v = parts[0] === '+Inf' ? Infinity : parts[0] === '-Inf' ? -Infinity : Number(parts[0]);
      if (Number.isNaN(v) && parts[0] !== 'NaN') continue;
      if (!out.has(name)) out.set(name, []);
      out.get(name).push({ labels: labels, value: v });
    }
    return out;
  }

  // The family to read: `exact` when exported (with samples, or declared
  // by TYPE), else the first sampled family matching `pattern`.
  function pickFamily(samples, exact, pattern, suffix) {
    if (samples.has(exact + suffix) || samples.types.has(exact)) return exact;
    for (const name of samples.keys()) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, name.length - suffix.length);
      if (pattern.test(base)) return base;
    }
    return null;
  }

  // Snapshot of what the charts need from one scrape.
  function extract(samples) {
    const snap = { at: Date.now(), byOutcome: {}, hist: null };
    const cmd = pickFamily(samples, COMMANDS_FAMILY, COMMANDS_PATTERN, '');
    if (cmd) {
      for (const s of samples.get(cmd) || []) {
        const o = s.labels.outcome || s.labels.status || 'all';
        snap.byOutcome[o] = (snap.byOutcome[o] || 0) + (isFinite(s.value) ? s.value : 0);
      }
    }
    const lat = pickFamily(samples, LATENCY_FAMILY, LATENCY_PATTERN, '_bucket');
    if (lat) {
      const buckets = new Map();
      for (const s of samples.get(lat + '_bucket') || []) {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        if (Number.isNaN(le)) continue;
        buckets.set(le, (buckets.get(le) || 0) + s.value);
      }
      const sum = (samples.get(lat + '_sum') || []).reduce((a, s) => a + (isFinite(s.value) ? s.value : 0), 0);
      const count = (samples.get(lat + '_count') || []).reduce((a, s) => a + (isFinite(s.value) ? s.value : 0), 0);
      snap.hist = { buckets: buckets, sum: sum, count: count };
    }
    snap.found = { commands: cmd, latency: lat };
    return snap;
  }

  // Quantile q from bucket count deltas (linear inside the bucket).
  function quantile(q, prevB, curB) {
    const les = Array.from(curB.keys()).sort((a, b) => a - b);
    const deltas = les.map((le) => Math.max(0, curB.get(le) - ((prevB && prevB.get(le)) || 0)));
    const total = deltas.length ? deltas[deltas.length - 1] : 0;
    if (total <= 0) return null;
    const rank = q * total;
    let lower = 0, lowerCount = 0;
    for (let k = 0; k < les.length; k++) {
      if (deltas[k] >= rank) {
        if (les[k] === Infinity) return lower;
        const inBucket = deltas[k] - lowerCount;
        return inBucket > 0 ? lower + (les[k] - lower) * ((rank - lowerCount) / inBucket) : les[k];
      }
      lower = les[k] === Infinity ? lower : les[k];
      lowerCount = deltas[k];
    }
    return lower;
  }

  const scrapes = [];   // raw snapshots
  const ratePoints = []; // {t, total, byOutcome:{o:rate}}
  const latPoints = [];  // {t, avg, p95} in ms, null when no calls
  const outcomes = [];   // outcome names in first-seen order

  function addScrape(snap) {
    const prev = scrapes.length ? scrapes[scrapes.length - 1] : null;
    scrapes.push(snap);
    if (scrapes.length > 2) scrapes.shift();
    if (!prev) return;
    const dt = (snap.at - prev.at) / 1000;
    if (dt <= 0) return;
    const by = {};
    let total = 0;
    for (const o of Object.keys(snap.byOutcome)) {
      if (outcomes.indexOf(o) < 0) outcomes.push(o);
      // A counter that went down was reset (restart): count from zero.
      const before = prev.byOutcome[o] || 0;
      const d = snap.byOutcome[o] >= before ? snap.byOutcome[o] - before : snap.byOutcome[o];
      by[o] = d / dt;
      total += by[o];
    }
    ratePoints.push({ t: snap.at, total: total, byOutcome: by });
    let avg = null, p95 = null;
    if (snap.hist) {
      const ph = prev.hist;
      const dc = snap.hist.count - (ph ? ph.count : 0);
      const ds = snap.hist.sum - (ph ? ph.sum : 0);
      if (dc > 0 && ds >= 0) {
        avg = (ds / dc) * 1000;
        const q = quantile(0.95, ph ? ph.buckets : null, snap.hist.buckets);
        p95 = q === null ? null : q * 1000;
      }
    }
    latPoints.push({ t: snap.at, avg: avg, p95: p95 });
    const cutoff = snap.at - METRICS_KEEP_MS;
    while (ratePoints.length && ratePoints[0].t < cutoff) ratePoints.shift();
    while (latPoints.length && latPoints[0].t < cutoff) latPoints.shift();
  }

  // Colours by index; the swatch-N classes of style.css match them.
  const PALETTE = ['#2f6fd6', '#d0453a', '#2b9a5a', '#c28a12', '#7d4fc4', '#1b8f9e'];
  // Known outcomes keep one meaningful colour; others take what is left.
  const OUTCOME_COLOR = { ok: 2, error: 1, post_failed: 3, no_response: 4 };

  function cssVar(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  // Draw series [{name, color, values:[{t, v|null}]}] on a canvas.
  function drawLines(canvas, series, unit) {
    const rect = canvas.getBoundingClientRect();
    if (rect.width === 0) return; // hidden tab
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(200, Math.floor(rect.width));
    const h = Math.max(140, Math.floor(rect.height));
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const fg = cssVar('--muted', '#667');
    const grid = cssVar('--grid', '#ddd');
    const padL = 52, padR = 10, padT = 10, padB = 24;
    const now = Date.now();
    // The window grows with the data: 2 minutes at first, up to 10.
    let first = now;
    for (const s of series) if (s.values.length && s.values[0].t < first) first = s.values[0].t;
    const span = Math.min(METRICS_KEEP_MS, Math.max(2 * 60000, now - first));
    const t0 = now - span;
    let max = 0;
    for (const s of series) for (const p of s.values) if (p.v !== null && p.v > max) max = p.v;
    max = max <= 0 ? 1 : niceCeil(max * 1.1);
    const x = (t) => padL + ((t - t0) / span) * (w - padL - padR);
    const y = (v) => padT + (1 - v / max) * (h - padT - padB);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = fg;
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(padL, yy); ctx.lineTo(w - padR, yy); ctx.stroke();
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      ctx.fillText(formatAxis(v) + (k === 4 && unit ? ' ' + unit : ''), padL - 6, yy);
    }
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const tick = span <= 3 * 60000 ? 30000 : span <= 6 * 60000 ? 60000 : 120000;
    for (let ago = Math.floor(span / tick) * tick; ago >= 0; ago -= tick) {
      const label = ago === 0 ? 'now' : ago % 60000 === 0 ? '-' + ago / 60000 + 'm' : '-' + ago / 1000 + 's';
      ctx.fillText(label, x(now - ago), h - padB + 6);
    }
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      let pen = false;
      for (const p of s.values) {
        if (p.v === null) { pen = false; continue; }
        if (pen) ctx.lineTo(x(p.t), y(p.v)); else ctx.moveTo(x(p.t), y(p.v));
        pen = true;
      }
      ctx.stroke();
    }
    if (series.every((s) => s.values.every((p) => p.v === null))) {
      ctx.fillStyle = fg; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      ctx.fillText(ratePoints.length ? 'no data in this window' : 'collecting…', (padL + w - padR) / 2, (padT + h - padB) / 2);
    }
  }

  function niceCeil(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function formatAxis(v) {
    if (v === 0) return '0';
    if (v >= 100) return String(Math.round(v));
    if (v >= 1) return String(Math.round(v * 10) / 10);
    return String(Math.round(v * 1000) / 1000);
  }

  function renderLegend(id, series) {
    const ul = $(id);
    ul.replaceChildren();
    for (const s of series) {
      const li = el('li');
      const sw = el('span', null, 'swatch swatch-' + s.colorIndex);
      sw.setAttribute('aria-hidden', 'true');
      li.append(sw, document.createTextNode(s.name));
      ul.append(li);
    }
  }

  function drawCharts() {
    if (activeTab !== 'metrics') return;
    const rateSeries = [{ name: 'all', colorIndex: 0, values: ratePoints.map((p) => ({ t: p.t, v: p.total })) }];
    const used = new Set([0]);
    for (const o of outcomes) if (OUTCOME_COLOR[o] !== undefined) used.add(OUTCOME_COLOR[o]);
    for (const o of outcomes) {
      let c = OUTCOME_COLOR[o];
      if (c === undefined) c = PALETTE.findIndex((_, k) => !used.has(k));
      if (c < 0) break; // more outcomes than colours
      used.add(c);
      rateSeries.push({ name: o, colorIndex: c, values: ratePoints.map((p) => ({ t: p.t, v: p.byOutcome[o] === undefined ? 0 : p.byOutcome[o] })) });
    }
    for (const s of rateSeries) s.color = PALETTE[s.colorIndex];
    drawLines($('chart-rate'), rateSeries, '/s');
    renderLegend('rate-legend', rateSeries);
    const latSeries = [
      { name: 'average', colorIndex: 0, color: PALETTE[0], values: latPoints.map((p) => ({ t: p.t, v: p.avg })) },
      { name: 'p95 (estimated from buckets)', colorIndex: 1, color: PALETTE[1], values: latPoints.map((p) => ({ t: p.t, v: p.p95 })) }
    ];
    drawLines($('chart-latency'), latSeries, 'ms');
    renderLegend('latency-legend', latSeries);
    const lastRate = ratePoints.length ? ratePoints[ratePoints.length - 1] : null;
    setText('rate-now', lastRate ? 'now ' + formatNumber(lastRate.total, 2) + '/s' : '');
    const lastLat = latPoints.length ? latPoints[latPoints.length - 1] : null;
    setText('latency-now', lastLat && lastLat.avg !== null ? 'now avg ' + formatNumber(lastLat.avg, 1) + ' ms' : '');
  }

  async function pollMetrics() {
    const r = await request('/metrics', null, true);
    if (!r.ok) {
      showNotice('metrics-error', 'Metrics unavailable (' + r.why + ').');
      drawCharts();
      return;
    }
    const snap = extract(parsePrometheus(r.data));
    const missing = [];
    if (!snap.found.commands) missing.push(COMMANDS_FAMILY);
    if (!snap.found.latency) missing.push(LATENCY_FAMILY);
    showNotice('metrics-error', missing.length ? 'Not exported yet: ' + missing.join(', ') + '.' : '');
    addScrape(snap);
    drawCharts();
  }

  // ---- logs (/api/logs) ----------------------------------------------------

  let logNext = null; // the next seq to ask for; null before the first read
  let logLineCount = 0;

  function levelRank(level) {
    const l = str(level).toLowerCase();
    const i = LEVELS.indexOf(l === 'warning' ? 'warn' : l);
    return i < 0 ? 1 : i;
  }

  function lineVisible(tr) {
    const min = LEVELS.indexOf($('logs-level').value);
    const filter = $('logs-filter').value.trim().toLowerCase();
    if (Number(tr.dataset.rank) < min) return false;
    if (filter !== '' && tr.textContent.toLowerCase().indexOf(filter) < 0) return false;
    return true;
  }

  function applyLogFilter() {
    for (const tr of $('logs-body').rows) tr.hidden = !lineVisible(tr);
    updateLogCount();
    scrollLogsIfFollowing();
  }

  function updateLogCount() {
    let shown = 0;
    for (const tr of $('logs-body').rows) if (!tr.hidden) shown++;
    setText('logs-count', shown + ' of ' + logLineCount + ' lines shown');
  }

  function scrollLogsIfFollowing() {
    const view = $('logs-view');
    if ($('logs-follow').checked) view.scrollTop = view.scrollHeight;
  }

  function formatLogTime(t) {
    if (typeof t !== 'string') return '';
    const d = new Date(t);
    if (isNaN(d.getTime())) return t;
    return d.toLocaleTimeString(undefined, { hour12: false });
  }

  function appendLogLines(lines) {
    const body = $('logs-body');
    const frag = document.createDocumentFragment();
    for (const line of lines) {
      if (!line || typeof line !== 'object') continue;
      const tr = el('tr');
      const level = str(line.level).toLowerCase();
      tr.dataset.rank = String(levelRank(level));
      tr.className = 'lvl-' + (LEVELS[levelRank(level)]);
      const time = el('td', formatLogTime(line.time), 'time');
      time.title = str(line.time);
      tr.append(time, el('td', level.toUpperCase(), 'level'), el('td', str(line.component), 'comp'),
        el('td', str(line.text !== undefined ? line.text : line.message), 'text'));
      tr.hidden = !lineVisible(tr);
      frag.append(tr);
      logLineCount++;
    }
    body.append(frag);
    while (body.rows.length > LOG_KEEP_LINES) { body.deleteRow(0); logLineCount--; }
    updateLogCount();
    scrollLogsIfFollowing();
  }

  const LOG_PAGE = 500;

  // One page of lines after logNext; true when a full page came back (more
  // may be waiting), false otherwise.
  async function readLogPage() {
    const q = '/api/logs?limit=' + LOG_PAGE + (logNext === null ? '' : '&since=' + encodeURIComponent(logNext));
    const r = await request(q);
    const ok = r.ok && r.data && typeof r.data === 'object' && Array.isArray(r.data.lines);
    if (!ok) {
      showNotice('logs-error', 'Logs unavailable (' + (r.ok ? 'unexpected answer' : r.why) + ').');
      return false;
    }
    showNotice('logs-error', '');
    const lines = r.data.lines;
    if (lines.length) appendLogLines(lines);
    const before = logNext;
    if (num(r.data.next) !== null) logNext = r.data.next;
    else if (lines.length && num(lines[lines.length - 1] && lines[lines.length - 1].seq) !== null) {
      logNext = lines[lines.length - 1].seq + 1;
    }
    return lines.length >= LOG_PAGE && logNext !== before;
  }

  // Catch up by pages (a few per tick) so a full buffer loads quickly.
  async function pollLogs() {
    for (let page = 0; page < 8; page++) {
      if (!(await readLogPage())) break;
    }
  }

  function initLogs() {
    $('logs-level').addEventListener('change', applyLogFilter);
    $('logs-filter').addEventListener('input', applyLogFilter);
    $('logs-follow').addEventListener('change', scrollLogsIfFollowing);
    updateLogCount();
  }

  // ---- start ---------------------------------------------------------------

  function start() {
    initTabs();
    initLevelToggle();
    initLogs();
    every(STATUS_EVERY_MS, pollStatus);
    every(CHANNELS_EVERY_MS, pollChannels);
    every(METRICS_EVERY_MS, pollMetrics);
    every(LOGS_EVERY_MS, pollLogs);
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(drawCharts, 150);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
