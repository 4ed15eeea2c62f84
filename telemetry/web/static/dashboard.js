// The analytics dashboard: summary cards, breakdowns, charts and tables, drawn from one
// POST /analytics answer. Every panel has an empty state that says what to do next.

import { barList, h, histogram, timeSeries } from "./charts.js";
import { formatDateTime, formatDuration, formatNumber, formatPercent, formatValue, plural } from "./format.js";
import { ruleLabel } from "./model.js";

const $ = (id) => document.getElementById(id);
const API_ROWS = 8; // the busiest routes; the rest are counted below the table

function empty(title, ...hint) {
  return h("div", { class: "empty" }, h("strong", {}, title), hint.length ? h("span", {}, ...hint) : null);
}

function code(text) {
  return h("code", {}, text);
}

function setStat(id, value, sub, nonzero) {
  const el = $(`stat-${id}`);
  el.textContent = value;
  if (nonzero !== undefined) el.dataset.nonzero = String(nonzero);
  $(`stat-${id}-sub`).textContent = sub || "";
}

/** Draw the whole dashboard from a normalized report (see model.js readReport). */
export function renderDashboard(r, ctx) {
  const t = r.totals;
  setStat("total", formatNumber(t.events), t.first ? `since ${formatDateTime(t.first)}` : "none in this period");
  const ss = r.session;
  setStat("session", ss.count ? formatDuration(ss.avgMs) : "–",
    ss.count ? `average of ${plural(ss.count, "session")} · longest ${formatDuration(ss.maxMs)}` : "no sessions in this period");
  setStat("types", formatNumber(t.eventTypes), r.breakdown[0] ? `most used: ${r.breakdown[0].name}` : "");
  const all = t.events + t.errors;
  setStat("errors", formatNumber(t.errors), all ? `${formatPercent((100 * t.errors) / all)} of events and errors` : "", t.errors > 0);

  renderBanner(r, ctx);
  renderTime(r, ctx);
  renderBreakdown(r);
  renderErrors(r);
  renderPerformance(r);
  renderApi(r);
  renderRedactions(r, ctx.rules || new Map());
  renderSystem(r);
}

function renderBanner(r, ctx) {
  const banner = $("dash-banner");
  banner.replaceChildren();
  banner.hidden = true;
  if (!ctx.enabled) {
    banner.append(
      h("strong", {}, "Telemetry is off. "),
      r.totals.events ? "The numbers below were recorded earlier; new activity is not recorded. " : "Nothing is being recorded. ",
      h("a", { href: "#consent" }, "Turn it on in Privacy"),
      ".",
    );
    banner.hidden = false;
  }
}

function renderTime(r, ctx) {
  const el = $("chart-time");
  const s = r.series;
  const n = s.points.reduce((a, p) => a + p.count + (p.errors || 0), 0);
  $("time-note").textContent = n && s.bucketMs ? `per ${formatDuration(s.bucketMs)}` : "";
  if (!n) {
    el.replaceChildren(
      ctx.enabled
        ? empty("No events in this period.", ctx.rangeLabel === "All time" ? "Use PEFT Studio and events appear here within a few seconds." : "Choose a longer time range above.")
        : empty("Nothing recorded yet.", "Turn telemetry on in the Privacy tab, then use PEFT Studio."),
    );
    return;
  }
  timeSeries(el, s);
  if (s.points.some((p) => p.errors > 0)) {
    el.append(h("div", { class: "legend", "aria-hidden": "true" }, h("span", {}, "Events"), h("span", { class: "legend-error" }, "Errors")));
  }
}

function renderBreakdown(r) {
  const el = $("breakdown");
  $("breakdown-note").textContent = r.breakdown.length ? plural(r.breakdown.length, "type") : "";
  if (!r.breakdown.length) {
    el.replaceChildren(empty("No events yet.", "Record one with ", code('track_event("training_started")'), "."));
    return;
  }
  el.replaceChildren(barList(r.breakdown.map((b) => ({ name: b.name, value: b.count, label: formatPercent(b.pct), extra: formatNumber(b.count) }))));
}

function renderErrors(r) {
  const el = $("errors");
  const total = r.errors.reduce((a, e) => a + e.count, 0);
  $("errors-note").textContent = total ? plural(total, "error") : "";
  if (!r.errors.length) {
    el.replaceChildren(empty("No errors in this period.", "Errors reported with ", code("track_error(exc)"), " are grouped here by type."));
    return;
  }
  el.replaceChildren(
    barList(
      r.errors.map((e) => ({
        name: e.type,
        value: e.count,
        label: formatNumber(e.count),
        extra: formatPercent(total ? (100 * e.count) / total : 0),
        title: [e.category && `category: ${e.category}`, e.example && `latest: ${e.example}`, e.last && `at ${formatDateTime(e.last)}`].filter(Boolean).join("\n") || null,
      })),
      { fill: "bar-fill-error" },
    ),
  );
}

/**
 * A table that becomes a stack of small cards on a phone (see .stack in style.css): each value cell
 * carries its column name for that layout. Explicit ARIA roles keep it a table for screen readers
 * whatever CSS display the cells get.
 */
function dataTable(label, columns, rows) {
  const table = h("table", { class: `stack cols-${columns.length - 1}`, role: "table", "aria-label": label },
    h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, ...columns.map((c) => h("th", { scope: "col", role: "columnheader" }, c)))),
    h("tbody", { role: "rowgroup" }, ...rows.map((row) =>
      h("tr", { role: "row", class: row.className || null },
        ...row.cells.map((cell, i) => h("td", { role: i === 0 ? "rowheader" : "cell", "data-label": columns[i] }, cell))))));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label }, table);
}

function renderPerformance(r) {
  const el = $("perf");
  const wrap = $("perf-chart-wrap");
  if (!r.performance.length) {
    wrap.hidden = true;
    el.replaceChildren(empty("No measurements yet.", "Record one with ", code('track_performance("api_response_time", 150.5, "ms")'), "."));
    return;
  }
  const slowest = r.slowest ? r.slowest.name : null;
  el.replaceChildren(dataTable("Performance metrics", ["Metric", "Count", "Avg", "Min", "Max", "p95"],
    r.performance.map((p) => ({
      className: p.name === slowest ? "is-slowest" : null,
      cells: [p.name, formatNumber(p.count), formatValue(p.avg, p.unit), formatValue(p.min, p.unit), formatValue(p.max, p.unit), formatValue(p.p95, p.unit)],
    }))));
  if (r.slowest && r.slowest.buckets.length) {
    wrap.hidden = false;
    $("perf-chart-title").textContent = `Distribution of ${r.slowest.name}, the slowest metric (by p95)`;
    const markers = [];
    if (r.slowest.p50 !== null) markers.push({ value: r.slowest.p50, label: "p50" });
    if (r.slowest.p95 !== null) markers.push({ value: r.slowest.p95, label: "p95" });
    histogram($("chart-perf"), { buckets: r.slowest.buckets, unit: r.slowest.unit, name: r.slowest.name, markers });
  } else {
    wrap.hidden = true;
  }
}

/** A route with line-break opportunities after each "/", so narrow screens break between segments. */
function breakable(route) {
  return String(route).split(/(?<=\/)/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));
}

function renderApi(r) {
  const el = $("api-times");
  if (!r.api.length) {
    el.replaceChildren(empty("No API requests recorded.", "Requests to the service's own API are timed here, by route, while telemetry is on."));
    return;
  }
  const shown = r.api.slice(0, API_ROWS);
  el.replaceChildren(dataTable("API response times", ["Route", "Requests", "Avg", "p95"],
    shown.map((a) => ({
      cells: [
        [a.method ? h("span", { class: "mono" }, `${a.method} `) : null, ...breakable(a.route)],
        [formatNumber(a.count), a.errors ? h("span", { class: "failed" }, ` · ${formatNumber(a.errors)} failed`) : null],
        formatDuration(a.avg),
        formatDuration(a.p95),
      ],
    }))));
  if (r.api.length > shown.length) {
    el.append(h("p", { class: "barlist-more" }, `and ${plural(r.api.length - shown.length, "less used route")}`));
  }
}

function renderRedactions(r, rules) {
  const el = $("redactions");
  const total = r.redactions.reduce((a, x) => a + x.count, 0);
  $("redact-note").textContent = total ? `${plural(total, "value")} removed` : "";
  if (!r.redactions.length) {
    el.replaceChildren(empty("Nothing needed redacting in this period.", "When an event carries an e-mail address, a path or a secret, the rule that removed it is counted here."));
    return;
  }
  el.replaceChildren(barList(
    r.redactions.map((x) => {
      const rule = rules.get(x.rule);
      return { key: x.rule, name: rule ? ruleLabel(rule) : x.rule, value: x.count, label: formatNumber(x.count), extra: x.rule, title: rule ? rule.description : null };
    }),
    { fill: "bar-fill-redact" },
  ));
}

function renderSystem(r) {
  const el = $("system");
  if (!r.system.length) {
    el.replaceChildren(empty("No system information yet.", "It is recorded with the first event once telemetry is on."));
    return;
  }
  el.replaceChildren(h("dl", { class: "facts sysinfo" }, ...r.system.flatMap((s) => [h("dt", {}, s.label), h("dd", {}, s.value)])));
}
