// Boot, tabs, shared state and actions. The consent state lives in one place (`state.status`) and every
// part of the page that shows it is redrawn from there; other open tabs hear about changes through a
// BroadcastChannel, and a light status poll catches changes made elsewhere (the CLI, the app).

import { api, exportUrl, readResponse } from "./api.js";
import { loadPreview, renderCollected, renderConsent, renderHistory, renderRules, runPreview } from "./consent.js";
import { renderDashboard } from "./dashboard.js";
import { formatRelative } from "./format.js";
import { readHistory, readReport, readRules, readStatus } from "./model.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;

const state = {
  view: "consent",
  status: null,
  statusKey: "",
  updatedAt: null,
  analyticsMs: 0,
  stale: false,
  renders: 0,
  loadingDashboard: null,
  reloadWanted: false,
  rules: new Map(),
  // Settled once the first status and rules have arrived; the dashboard's first draw waits for them
  // while its own query already runs.
  firstStatus: Promise.resolve(),
  firstRules: Promise.resolve(),
  preview: null,
};

const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("peft-telemetry") : null;

// ---- messages ------------------------------------------------------------------------------------

function announce(text, isError = false) {
  const live = $("announcer");
  live.textContent = "";
  // A fresh text node after a tick makes screen readers repeat an identical message.
  setTimeout(() => { live.textContent = text; }, 30);
  if (isError) showAlert(text);
}

function showAlert(text, extra) {
  const el = $("alert");
  el.replaceChildren(text, ...(extra ? [" ", extra] : []));
  el.hidden = false;
}

function clearAlert() {
  $("alert").hidden = true;
}

function handleError(err, what) {
  if (err && err.unauthorized) {
    const hint = document.createElement("span");
    hint.append("Open the link that ", Object.assign(document.createElement("code"), { textContent: "peft-telemetry serve" }),
      " printed (it carries the access token) to make changes here.");
    showAlert(`${what}: not allowed without the access token.`, hint);
    announce(`${what}: not allowed without the access token.`);
  } else {
    announce(`${what}: ${err && err.message ? err.message : err}`, true);
  }
}

// ---- consent state, shown everywhere -------------------------------------------------------------

function applyStatus(raw) {
  // A consent-only answer (GET /consent) keeps what the last full status said about storage.
  state.status = { ...(state.status || {}), ...raw };
  raw = state.status;
  const st = readStatus(raw);
  const pill = $("state-pill");
  pill.dataset.state = st.enabled ? "on" : "off";
  $("state-pill-text").textContent = st.enabled ? "Recording" : st.doNotTrack ? "Off (DO_NOT_TRACK)" : "Off";
  document.body.dataset.consent = st.enabled ? "on" : "off";
  renderConsent(raw);
}

async function refreshStatus() {
  const raw = await api("status");
  const st = readStatus(raw);
  const key = `${st.enabled}|${st.anonymousId}|${st.stored.events}|${st.stored.newest}|${st.stored.metricPoints}`;
  const changed = key !== state.statusKey;
  state.statusKey = key;
  applyStatus(raw);
  return changed;
}

async function setConsent(enabled) {
  const sw = $("consent-switch");
  // Busy, not disabled: a disabled button loses keyboard focus, and the user would have to find it again.
  if (sw.getAttribute("aria-busy") === "true" || sw.getAttribute("aria-disabled") === "true") return;
  sw.setAttribute("aria-busy", "true");
  try {
    await api("consent", { method: "POST", body: { enabled } });
    await refreshStatus();
    clearAlert();
    announce(enabled ? "Telemetry is on. Anonymized events are recorded on this computer." : "Telemetry is off. Nothing new is recorded.");
    channel?.postMessage({ type: "changed" });
    if ($("history-details").open) await loadHistory();
    if (state.view === "dashboard") await loadDashboard();
  } catch (err) {
    handleError(err, enabled ? "Could not turn telemetry on" : "Could not turn telemetry off");
  } finally {
    sw.removeAttribute("aria-busy");
  }
}

/** The consent ledger comes with the analytics report; read it only when someone opens the list. */
async function loadHistory() {
  try {
    const raw = await api("analytics", { method: "POST", body: {} });
    renderHistory(readHistory(readReport(raw, { startMs: null, endMs: Date.now() }).consentHistory));
  } catch (err) {
    handleError(err, "Could not read the consent history");
  }
}

// ---- dashboard -----------------------------------------------------------------------------------

function rangeFilter() {
  const value = $("range").value;
  const label = $("range").selectedOptions[0]?.textContent || "";
  if (value === "all") return { filter: {}, label, startMs: null };
  const startMs = Date.now() - Number(value) * 1000;
  // Nanoseconds exceed 2^53, so a double cannot hold them exactly; a microsecond off does not matter.
  return { filter: { start_ns: Math.floor(startMs) * 1e6 }, label, startMs };
}

/**
 * Query and redraw the dashboard. A request that comes while one is running (a new time range picked
 * mid-query) is not dropped: one more round runs when the current one ends, with the latest settings.
 */
function loadDashboard() {
  if (state.loadingDashboard) {
    state.reloadWanted = true;
    return state.loadingDashboard;
  }
  const section = $("view-dashboard");
  section.setAttribute("aria-busy", "true");
  state.loadingDashboard = (async () => {
    do {
      state.reloadWanted = false;
      await drawDashboardOnce(section);
    } while (state.reloadWanted);
  })().finally(() => {
    section.removeAttribute("aria-busy");
    state.loadingDashboard = null;
  });
  return state.loadingDashboard;
}

/** A request early.js already started (once), or null. */
function takeEarly(name) {
  const early = window.__peftEarly;
  const pending = early ? early[name] : null;
  if (early) early[name] = null;
  return pending || null;
}

/** GET an endpoint, or take over the same request early.js already started. */
function apiGet(path) {
  const early = takeEarly(path);
  return early ? readResponse(early) : api(path);
}

/**
 * POST /analytics, or for the first draw the same answer the page came with (GET /dashboard streams
 * it in, see telemetry/web/_dashboard.py) or that early.js already asked for. Each is used once.
 */
function queryAnalytics(filter) {
  const embedded = $("dashboard-report");
  const early = takeEarly("analytics");
  if (embedded) embedded.remove();
  if (Object.keys(filter).length === 0) {
    if (embedded) return Promise.resolve(JSON.parse(embedded.textContent));
    if (early) return readResponse(early);
  }
  return api("analytics", { method: "POST", body: filter });
}

async function drawDashboardOnce(section) {
  const { filter, label, startMs } = rangeFilter();
  try {
    const started = performance.now();
    const [raw] = await Promise.all([queryAnalytics(filter), state.firstStatus, state.firstRules]);
    if (state.reloadWanted) return; // superseded while in flight: the next round draws
    state.analyticsMs = performance.now() - started;
    const drawStart = performance.now();
    const report = readReport(raw, { startMs, endMs: Date.now() });
    const enabled = readStatus(state.status).enabled;
    renderDashboard(report, { enabled, rangeLabel: label, rules: state.rules });
    renderHistory(readHistory(report.consentHistory));
    // For the benchmark: how long the query took as the page saw it, and how long drawing took.
    performance.measure("peft:analytics", { start: started, end: drawStart });
    performance.measure("peft:draw", { start: drawStart });
    $("dash-export").href = exportUrl(filter.start_ns ?? null, null);
    state.updatedAt = Date.now();
    state.stale = false;
    state.renders += 1;
    section.dataset.renders = String(state.renders);
    updateUpdated();
  } catch (err) {
    handleError(err, "Could not load the analytics");
  }
}

function updateUpdated() {
  if (state.updatedAt) $("updated").textContent = `Updated ${formatRelative(state.updatedAt)}. New data appears automatically.`;
}

// ---- tabs ----------------------------------------------------------------------------------------

function viewFromLocation() {
  if (location.hash === "#dashboard") return "dashboard";
  if (location.hash === "#consent") return "consent";
  if (state.view && location.hash) return state.view;
  return location.pathname.endsWith("/dashboard") ? "dashboard" : "consent";
}

async function showView(view, { focus = false } = {}) {
  state.view = view;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
  }
  $("view-consent").hidden = view !== "consent";
  $("view-dashboard").hidden = view !== "dashboard";
  document.title = `${view === "dashboard" ? "Dashboard" : "Privacy"} · Telemetry · PEFT Studio`;
  if (view === "dashboard") await loadDashboard();
  // The preview is only on the consent tab: fetch it the first time that tab is shown.
  if (view === "consent" && !state.preview) {
    state.preview = loadPreview().catch((err) => handleError(err, "Could not load the preview"));
  }
  if (view === "consent") await state.preview;
}

function wireTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => {
      history.replaceState(null, "", `#${tab.dataset.view}`);
      showView(tab.dataset.view);
    });
    tab.addEventListener("keydown", (e) => {
      // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
      const next = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (next === undefined && e.key !== "Home" && e.key !== "End") return;
      e.preventDefault();
      const j = e.key === "Home" ? 0 : e.key === "End" ? tabs.length - 1 : (i + next + tabs.length) % tabs.length;
      history.replaceState(null, "", `#${tabs[j].dataset.view}`);
      showView(tabs[j].dataset.view, { focus: true });
    });
  });
  // Only the two view names switch views: other fragments (the skip link's #main) are plain anchors.
  window.addEventListener("hashchange", () => {
    if (location.hash === "#dashboard" || location.hash === "#consent") showView(viewFromLocation());
  });
}

// ---- actions -------------------------------------------------------------------------------------

function wireActions() {
  $("consent-switch").addEventListener("click", () => {
    setConsent(!readStatus(state.status).enabled);
  });
  $("delete-button").addEventListener("click", () => {
    const dialog = $("delete-dialog");
    dialog.returnValue = "";
    dialog.showModal();
  });
  $("delete-dialog").addEventListener("close", async () => {
    if ($("delete-dialog").returnValue !== "confirm") {
      announce("Nothing was deleted.");
      return;
    }
    try {
      await api("data", { method: "DELETE" });
      await refreshStatus();
      clearAlert();
      announce("All telemetry data was deleted. You have a new anonymous ID.");
      channel?.postMessage({ type: "changed" });
      if (state.view === "dashboard") await loadDashboard();
    } catch (err) {
      handleError(err, "Could not delete the data");
    }
  });
  $("preview-button").addEventListener("click", () => runPreview(announce));
  $("history-details").addEventListener("toggle", () => {
    if ($("history-details").open) loadHistory();
  });
  $("range").addEventListener("change", () => loadDashboard());
  $("refresh-button").addEventListener("click", async () => {
    await refreshStatus().catch(() => {});
    await loadDashboard();
    announce("Dashboard refreshed.");
  });
}

// ---- keeping up to date --------------------------------------------------------------------------

/**
 * Every few seconds: re-read the status (cheap). When the event log changed, redraw the dashboard, but
 * no more often than every 5 s or ten times what the last report took, so a large log never keeps the
 * service busy on our behalf (our own reads are events too while telemetry is on).
 */
async function poll() {
  if (document.visibilityState === "visible") {
    try {
      state.stale = (await refreshStatus()) || state.stale;
      const due = Date.now() - (state.updatedAt || 0) >= Math.max(5000, 10 * state.analyticsMs);
      if (state.stale && due && state.view === "dashboard") await loadDashboard();
      else updateUpdated();
    } catch {
      // The next poll tries again; a failing poll must not flood the user with alerts.
    }
  }
  setTimeout(poll, POLL_MS);
}

channel?.addEventListener("message", async () => {
  await refreshStatus().catch(() => {});
  if (state.view === "dashboard") await loadDashboard();
});

// ---- boot ----------------------------------------------------------------------------------------

async function boot() {
  // The access token came in the first URL and is now a cookie: keep it out of history and bookmarks.
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  wireTabs();
  wireActions();
  renderCollected();
  // Everything the first view needs, at once. GET /consent is instant; the full status reads the event
  // log, so on the dashboard it waits until the analytics query (which reads it too) is done.
  const view = viewFromLocation();
  state.firstStatus = apiGet("consent").then((consent) => applyStatus({ consent }))
    .catch((err) => handleError(err, "Could not read the telemetry status"));
  state.firstRules = apiGet("rules").then((raw) => {
    state.rules = new Map((Array.isArray(raw) ? raw : []).map((r) => [r.id, r]));
    renderRules(readRules(raw));
  }).catch((err) => handleError(err, "Could not read the privacy rules"));
  const fullStatus = () => refreshStatus().catch((err) => handleError(err, "Could not read the telemetry status"));
  if (view === "consent") await Promise.all([state.firstStatus, state.firstRules, fullStatus(), showView(view)]);
  else await Promise.all([state.firstStatus, state.firstRules, showView(view)]);
  // Navigation start -> everything drawn, for the benchmark (bench/bench_dashboard.py) and the curious.
  window.__peftReadyMs = performance.now();
  document.body.dataset.ready = "true";
  if (view !== "consent") await fullStatus();
  setTimeout(poll, POLL_MS);
}

boot();
