// Retail Pulse live page: renders snapshots pushed over SSE (or polled), no build step.
// Config: <body data-snapshot-url data-events-url data-poll-ms>, overridable with ?snapshot=&events=&poll=.
// An empty events URL (the Function App) means polling; filters live in ?region=&store=.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const config = {
  snapshotUrl: params.get("snapshot") ?? document.body.dataset.snapshotUrl ?? "/api/snapshot",
  eventsUrl: params.get("events") ?? document.body.dataset.eventsUrl ?? "/api/events",
  pollMs: Number(params.get("poll") ?? document.body.dataset.pollMs ?? 5000) || 5000,
};
const state = {
  region: params.get("region") || "",
  store: params.get("store") || "",
  snapshot: null,
  receivedAt: 0,
  previous: new Map(), // minute window -> [net_sales, transactions] of the last render, same focus
  focusKey: null,
  corrected: new Map(), // minute window -> correction text
  source: null,
  pollTimer: null,
  chart: null,
};

// -- formatting ----------------------------------------------------------------------
const dash = "—";
function money(value, currency) {
  if (value === null || value === undefined) return dash;
  return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: 2 }).format(value);
}
function moneyTick(value, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: 0 }).format(value);
}
function count(value) {
  return value === null || value === undefined ? dash : new Intl.NumberFormat().format(value);
}
function percent(value) {
  if (value === null || value === undefined) return dash;
  return new Intl.NumberFormat(undefined, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
}
function lag(ms) {
  if (ms === null || ms === undefined) return dash;
  if (ms < 1000) return `≤ ${ms} ms`;
  if (ms < 60000) return `≤ ${ms / 1000} s`;
  if (ms < 3600000) return `≤ ${ms / 60000} min`;
  if (ms < 86400000) return `≤ ${ms / 3600000} h`;
  return `≤ ${ms / 86400000} d`;
}
function formatValue(kind, value, currency) {
  switch (kind) {
    case "money": return money(value, currency);
    case "count": return count(value);
    case "ratio": return value === null ? dash : Number(value).toFixed(2);
    case "percent": return percent(value);
    case "lag_ms": return lag(value);
    case "behind_ms": return value === null ? dash : lag(value).replace("≤", "≥");
    default: return String(value ?? dash);
  }
}
function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "no data yet";
  if (seconds < 10) return `updated ${seconds.toFixed(1)} s ago`;
  if (seconds < 90) return `updated ${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `updated ${Math.round(seconds / 60)} min ago`;
  return `updated ${Math.round(seconds / 3600)} h ago`;
}
const hhmm = (window) => window.slice(11, 16);
// A minute's label: its wall time in the focus's business time zone (the snapshot's `local`), else UTC.
const minuteLabel = (m) => m.local || hhmm(m.window);

// The age of data at render time (simulated seconds) turned into wall seconds, plus the time since.
function wallAge(ageSeconds) {
  if (ageSeconds === null || ageSeconds === undefined || !state.snapshot) return null;
  const rate = state.snapshot.clock_rate || 1;
  return ageSeconds / rate + (performance.now() - state.receivedAt) / 1000;
}

// -- rendering -----------------------------------------------------------------------
// "vs same time last week" (sales and transactions tiles): +/- % and last week's figure.
function compareText(tile, currency) {
  const vs = tile.vs_last_week;
  if (!vs) return "";
  const then = tile.kind === "money" ? money(vs.last_week, currency) : count(vs.last_week);
  if (vs.change === null) return `vs same time last week: ${then}`;
  const pct = Number(vs.change) * 100;
  const sign = pct > 0 ? "+" : pct < 0 ? "−" : "±";
  return `${sign}${Math.abs(pct).toFixed(1)} % vs same time last week (${then})`;
}

// A configured daily target: the share reached so far, or whether a ratio meets it.
function targetText(tile, currency) {
  const t = tile.target;
  if (!t) return "";
  const goal = formatValue(tile.kind, t.value, currency);
  if (t.share !== null) return `${(Number(t.share) * 100).toFixed(1)} % of the day's target ${goal}`;
  if (t.met === null) return `target ${goal}`;
  return `target ${goal}: ${t.met ? "met" : "not met"}`;
}

function renderTiles(snap) {
  const list = $("tiles");
  for (const tile of snap.tiles) {
    let item = list.querySelector(`[data-tile="${tile.id}"]`);
    if (!item) {
      item = document.createElement("li");
      item.className = "tile";
      item.dataset.tile = tile.id;
      item.dataset.kind = tile.kind;
      item.innerHTML = '<h3 class="tile-label"></h3><p class="tile-value"></p><p class="tile-compare"></p><p class="tile-target"></p><p class="tile-detail"></p>' +
        '<p class="tile-age"><span class="age-tick" aria-hidden="true"></span><span class="visually-hidden age-sr"></span></p>';
      item.querySelector(".tile-label").textContent = tile.label;
      list.append(item);
    }
    const value = item.querySelector(".tile-value");
    const raw = tile.value === null ? "" : String(tile.value);
    const text = formatValue(tile.kind, tile.value, snap.currency);
    if (value.dataset.value !== raw || value.textContent !== text) {
      value.dataset.value = raw;
      value.textContent = text;
    }
    item.querySelector(".tile-compare").textContent = compareText(tile, snap.currency);
    item.querySelector(".tile-target").textContent = targetText(tile, snap.currency);
    item.querySelector(".tile-detail").textContent = tile.detail || "";
    item.classList.toggle("tile-warning", Boolean(tile.warning));
    item.dataset.ageS = tile.age_s ?? "";
    const sr = item.querySelector(".age-sr");
    const srText = tile.as_of ? `as of ${tile.as_of.slice(11, 19)} UTC` : "no data yet";
    if (sr.textContent !== srText) sr.textContent = srText;
  }
  list.setAttribute("aria-busy", "false");
}

function tickAges() {
  for (const item of document.querySelectorAll("[data-age-s]")) {
    const age = item.dataset.ageS === "" ? null : wallAge(Number(item.dataset.ageS));
    const tick = item.querySelector(".age-tick");
    if (tick) tick.textContent = ageText(age);
  }
}

function trackCorrections(snap) {
  const focus = `${snap.focus.scope}:${snap.focus.key}`;
  const minutes = snap.series.minutes;
  if (focus !== state.focusKey) {
    state.focusKey = focus;
    state.previous = new Map();
    state.corrected = new Map();
    renderCorrections();
  }
  for (const m of minutes) {
    const before = state.previous.get(m.window); // only minutes that were already settled last time
    if (before && (before[0] !== m.net_sales || before[1] !== m.transactions)) {
      const text = `${minuteLabel(m)} (${snap.series.zone || "UTC"}) corrected by late data: net sales ${money(before[0], snap.currency)} → ` +
        `${money(m.net_sales, snap.currency)}, transactions ${before[1]} → ${m.transactions} (seen at ${snap.now.slice(11, 19)})`;
      state.corrected.set(m.window, text);
      renderCorrections();
    }
  }
  // A minute is settled once it is two minutes behind both the clock and the newest minute with sales (so a
  // pipeline catching up on a backlog is not taken for late data); a later change to it is a correction.
  const newest = minutes.findLastIndex((m) => m.transactions > 0);
  const settled = minutes.slice(0, Math.max(0, Math.min(minutes.length - 2, newest - 1)));
  state.previous = new Map(settled.map((m) => [m.window, [m.net_sales, m.transactions]]));
}

function renderCorrections() {
  const list = $("corrections");
  list.replaceChildren();
  const entries = [...state.corrected.entries()].slice(-10).reverse();
  if (!entries.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "None while this page is open.";
    list.append(li);
  }
  for (const [window, text] of entries) {
    const li = document.createElement("li");
    li.dataset.window = window;
    li.textContent = text;
    list.append(li);
  }
}

function renderSeries(snap) {
  const minutes = snap.series.minutes;
  const rows = minutes.map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.window = m.window;
    if (state.corrected.has(m.window)) tr.classList.add("corrected");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = minuteLabel(m) + (m.gap ? " (no data yet)" : "") +
      (state.corrected.has(m.window) ? " (corrected)" : "");
    const sales = document.createElement("td");
    sales.dataset.value = String(m.net_sales);
    sales.textContent = money(m.net_sales, snap.currency);
    const txns = document.createElement("td");
    txns.dataset.value = String(m.transactions);
    txns.textContent = count(m.transactions);
    tr.append(th, sales, txns);
    return tr;
  });
  $("series-table").tBodies[0].replaceChildren(...rows);
  const peak = minutes.reduce((best, m) => (m.net_sales > best.net_sales ? m : best), minutes[0]);
  const last = minutes[minutes.length - 1];
  const zone = snap.series.zone || "UTC";
  $("chart-zone").textContent = zone;
  $("series-zone").textContent = zone;
  $("series-zone-head").textContent = zone;
  const summary = `Net sales per minute, last 60 minutes (${zone}): now ${money(last.net_sales, snap.currency)} ` +
    `and ${count(last.transactions)} transactions; peak ${money(peak.net_sales, snap.currency)} at ${minuteLabel(peak)}.` +
    (state.corrected.size ? ` ${state.corrected.size} minute(s) corrected by late data.` : "");
  $("chart").setAttribute("aria-label", summary + " The table below lists every minute.");
  drawChart(snap, minutes);
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function drawChart(snap, minutes) {
  if (!window.Chart) {
    $("chart-missing").hidden = false;
    return;
  }
  const labels = minutes.map(minuteLabel);
  const sales = minutes.map((m) => (m.gap ? null : Number(m.net_sales)));  // before any data: a gap, not a zero
  const txns = minutes.map((m) => (m.gap ? null : m.transactions));
  const marks = minutes.map((m) => (state.corrected.has(m.window) ? 5 : 0));
  if (!state.chart) {
    state.chart = new window.Chart($("chart"), {
      data: {
        labels,
        datasets: [
          { type: "line", label: `Net sales (${snap.currency})`, data: sales, yAxisID: "y", borderColor: cssVar("--accent"),
            backgroundColor: cssVar("--accent"), pointBackgroundColor: cssVar("--warn"), pointRadius: marks, tension: 0.25 },
          { type: "bar", label: "Transactions", data: txns, yAxisID: "y1", backgroundColor: cssVar("--bars") },
        ],
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 8, color: cssVar("--muted") }, grid: { display: false } },
          y: { position: "left", beginAtZero: true, title: { display: true, text: `Net sales (${snap.currency})`, color: cssVar("--muted") },
               ticks: { color: cssVar("--muted"), callback: (v) => moneyTick(v, snap.currency) } },
          y1: { position: "right", beginAtZero: true, grid: { display: false }, ticks: { precision: 0, color: cssVar("--muted") } },
        },
        plugins: { legend: { labels: { color: cssVar("--text") } } },
      },
    });
    return;
  }
  const chart = state.chart;
  chart.data.labels = labels;
  chart.data.datasets[0].data = sales;
  chart.data.datasets[0].pointRadius = marks;
  chart.data.datasets[1].data = txns;
  chart.update("none");
}

function renderBreakdown(snap) {
  const byRegion = snap.breakdown.scope === "region";
  $("breakdown-title").textContent = byRegion ? "By region" : "Stores of the region";
  $("breakdown-member").textContent = byRegion ? "Region" : "Store";
  $("breakdown-caption").textContent = byRegion
    ? "Today by region (each at its own business day)"
    : "Today by store (each at its own business day)";
  const rows = snap.breakdown.rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.key = row.key;
    tr.dataset.ageS = row.age_s ?? "";
    if (row.selected) tr.setAttribute("aria-current", "true");
    const th = document.createElement("th");
    th.scope = "row";
    const link = document.createElement("a");
    const query = byRegion ? { region: row.key } : { region: state.region || regionOf(snap, row.key), store: row.key };
    link.href = "?" + new URLSearchParams(query).toString();
    link.textContent = row.label;
    link.addEventListener("click", (event) => { event.preventDefault(); applyFilters(query.region || "", query.store || ""); });
    th.append(link);
    const cells = [
      money(row.net_sales, snap.currency), count(row.transactions), money(row.aov, snap.currency),
      percent(row.conversion_rate), percent(row.on_time_rate), count(row.open_backlog), count(row.overdue_backlog),
    ].map((text) => Object.assign(document.createElement("td"), { textContent: text }));
    const age = document.createElement("td");
    age.className = "age-tick";
    tr.append(th, ...cells, age);
    return tr;
  });
  $("breakdown").tBodies[0].replaceChildren(...rows);
}

function regionOf(snap, storeId) {
  return snap.filters.stores.find((s) => s.id === storeId)?.region || "";
}

// Compared as JSON: [""] and [] join to the same text.
const sameOptions = (select, values) => JSON.stringify([...select.options].map((o) => o.value)) === JSON.stringify(values);

function renderFilters(snap) {
  // The server lists only what the caller may see; without the chain ("filters.chain" false,
  // a manager in Azure) there is no "All regions", and "All stores" only for a region of its own.
  const whole = snap.filters.chain !== false;
  const region = $("region");
  const wanted = [...(whole ? [""] : []), ...snap.filters.regions];
  if (!sameOptions(region, wanted)) {
    region.replaceChildren(...wanted.map((r) => new Option(r || "All regions", r)));
  }
  region.value = state.region;
  const store = $("store");
  const stores = snap.filters.stores.filter((s) => !state.region || s.region === state.region);
  const all = whole || snap.filters.regions.includes(state.region) ? [""] : [];
  const values = [...all, ...stores.map((s) => s.id)];
  if (!sameOptions(store, values)) {
    store.replaceChildren(
      ...all.map(() => new Option("All stores", "")),
      ...stores.map((s) => new Option(`${s.id} ${s.name}`, s.id)),
    );
  }
  store.value = state.store;
}

// Every physical store closed (night, Sunday): say so, and when each region opens next.
function renderHours(trading) {
  const notice = $("hours-notice");
  notice.hidden = !trading || !trading.all_closed;
  if (notice.hidden) return;
  const next = trading.next_openings.map((o) => `${o.region} ${o.local}`).join(", ");
  notice.textContent = `All ${trading.physical_stores} stores are closed at this hour; the web and app shops keep ` +
    `trading. Next openings (local time): ${next}.`;
}

function render(snap) {
  state.snapshot = snap;
  state.receivedAt = performance.now();
  $("focus-label").textContent = snap.focus.label;
  $("focus-day").textContent = snap.focus.business_date;
  $("currency").textContent = snap.currency;
  const speed = snap.clock_rate && snap.clock_rate !== 1 ? ` (simulated, ${snap.clock_rate}× speed)` : "";
  $("data-time").textContent = snap.now.replace("T", " ").slice(0, 19) + " UTC" + speed;
  $("data-time").dateTime = snap.now;
  renderFilters(snap);
  renderHours(snap.trading);
  renderTiles(snap);
  trackCorrections(snap);
  renderSeries(snap);
  renderBreakdown(snap);
  tickAges();
  document.dispatchEvent(new CustomEvent("pulse:snapshot", { detail: snap }));  // alerts.js listens
}

// -- data flow -----------------------------------------------------------------------
function filterQuery() {
  const q = new URLSearchParams();
  if (state.region) q.set("region", state.region);
  if (state.store) q.set("store", state.store);
  return q.toString();
}
const withQuery = (url) => (filterQuery() ? `${url}${url.includes("?") ? "&" : "?"}${filterQuery()}` : url);
const status = (text) => { $("connection").textContent = text; };

function connect() {
  state.source?.close();
  clearTimeout(state.pollTimer);
  if (!config.eventsUrl || !window.EventSource) return poll();
  let received = false;
  let failures = 0;
  const source = new EventSource(withQuery(config.eventsUrl));
  state.source = source;
  source.addEventListener("snapshot", (event) => {
    received = true;
    failures = 0;
    status("Live: updates are pushed");
    render(JSON.parse(event.data));
  });
  source.onerror = () => {
    failures += 1;
    if (!received && failures >= 2) { source.close(); poll(); return; } // no SSE here: poll instead
    status("Reconnecting…");
  };
}

async function poll() {
  try {
    const response = await fetch(withQuery(config.snapshotUrl), { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    status(`Live: refreshed every ${config.pollMs / 1000} s`);
  } catch (error) {
    status(`Offline (${error.message}); retrying`);
  }
  state.pollTimer = setTimeout(poll, config.pollMs);
}

function applyFilters(region, store) {
  state.region = region;
  state.store = store;
  const q = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries({ region, store })) value ? q.set(name, value) : q.delete(name);
  history.replaceState(null, "", q.toString() ? `?${q}` : location.pathname);
  connect();
}

$("region").addEventListener("change", (event) => applyFilters(event.target.value, ""));
$("store").addEventListener("change", (event) => {
  const store = event.target.value;
  applyFilters(store ? regionOf(state.snapshot, store) || state.region : state.region, store);
});
setInterval(tickAges, 200);
connect();
