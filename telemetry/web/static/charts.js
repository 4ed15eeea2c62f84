// Charts as inline SVG, drawn at the container's pixel width (so text stays crisp at any size) and
// redrawn when the container is resized. No library, no network: a bar list, a time series of
// columns and a histogram are all this dashboard needs. Every label goes in through textContent or
// an SVG <title>, never through HTML parsing: event names are user data.

import { axisFormatter, durationFactor, formatCompact, formatDateTime, formatDuration, formatNumber, formatValue, timeTicks } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

/** Create an HTML element: h("li", {class: "x"}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  if (text !== undefined) el.textContent = text;
  return el;
}

function withTitle(el, text) {
  el.append(s("title", {}, text));
  return el;
}

/** Round axis steps (1, 2, 5 × 10^n) covering 0..max with about `count` ticks. */
export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw) || 10 * mag;
  const ticks = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const DURATION_STEPS_MS = [0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((x) => x * 1000);

/**
 * Round tick values between lo and hi for a measurement axis, labelled in its unit. Durations step in
 * clock units (15 s, 30 s, 1 min, 5 min ...) so labels read "1 min 30 s", never "1.5 min".
 */
export function valueTicks(lo, hi, wanted, unit) {
  const f = durationFactor(unit);
  if (f !== null && (hi - lo) * f >= 1000) {
    const spanMs = (hi - lo) * f;
    const step = DURATION_STEPS_MS.find((st) => spanMs / st <= wanted) || DURATION_STEPS_MS[DURATION_STEPS_MS.length - 1];
    const out = [];
    for (let v = Math.ceil((lo * f) / step) * step; v <= hi * f + 1e-9; v += step) out.push({ v: v / f, label: v === 0 ? "0" : formatDuration(v) });
    return out;
  }
  const step = niceTicks(hi - lo, wanted)[1] || 1;
  const fmt = axisFormatter(hi, unit);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    const vv = Number(v.toPrecision(12));
    out.push({ v: vv, label: fmt(vv) });
  }
  return out;
}

// ---- bar list ------------------------------------------------------------------------------------

/**
 * Rows of "name · value" with a thin proportional bar under each. Bars are SVG stretched to the row
 * (preserveAspectRatio none), so they need no inline styles and no redraw on resize.
 * items: [{name, value, label, extra?, title?, key?}], opts: {fill: css class, max: number, limit: rows shown}
 */
export function barList(items, opts = {}) {
  const limit = opts.limit || 12;
  const max = opts.max || Math.max(1, ...items.map((i) => i.value));
  const list = h("ol", { class: "barlist" });
  for (const item of items.slice(0, limit)) {
    const pct = Math.max(0, Math.min(100, (item.value / max) * 100));
    const bar = s("svg", { class: "barlist-bar", viewBox: "0 0 100 6", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
    bar.append(s("rect", { class: "bar-track", width: 100, height: 6 }));
    bar.append(s("rect", { class: opts.fill || "bar-fill", width: pct.toFixed(3), height: 6 }));
    const num = h("span", { class: "barlist-num" });
    num.append(h("b", {}, item.label));
    if (item.extra) num.append(` · ${item.extra}`);
    list.append(
      h("li", { title: item.title || null, "data-key": item.key ?? item.name },
        h("div", { class: "barlist-head" }, h("span", { class: "barlist-name" }, item.name), num),
        bar),
    );
  }
  const wrap = h("div", {}, list);
  if (items.length > limit) wrap.append(h("p", { class: "barlist-more" }, `and ${formatNumber(items.length - limit)} more`));
  return wrap;
}

// ---- responsive drawing --------------------------------------------------------------------------

const drawers = new WeakMap();
const observer = typeof ResizeObserver === "function"
  ? new ResizeObserver((entries) => {
    for (const entry of entries) {
      const d = drawers.get(entry.target);
      const width = Math.floor(entry.contentRect.width);
      if (d && width > 0 && width !== d.width) {
        d.width = width;
        d.draw(width);
      }
    }
  })
  : null;

function mount(container, draw) {
  const width = Math.floor(container.clientWidth) || 600;
  drawers.set(container, { draw, width });
  draw(width);
  if (observer) observer.observe(container);
}

function frame(container, width, height, label) {
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  container.replaceChildren(svg);
  return svg;
}

function yAxis(svg, ticks, x0, x1, y, fmt) {
  for (const t of ticks) {
    const yy = Math.round(y(t)) + 0.5;
    svg.append(s("line", { class: t === 0 ? "axis" : "gridline", x1: x0, x2: x1, y1: yy, y2: yy }));
    svg.append(s("text", { x: x0 - 6, y: yy + 4, "text-anchor": "end" }, fmt(t)));
  }
}

function labelWidth(ticks, fmt) {
  return Math.max(...ticks.map((t) => fmt(t).length)) * 6.5 + 10;
}

// ---- time series ---------------------------------------------------------------------------------

/**
 * Columns per time bucket. data: {points: [{t: ms, count, errors}], start: ms, end: ms, bucketMs}.
 * Errors are stacked under the events of the same bucket, in red.
 */
export function timeSeries(container, data) {
  mount(container, (width) => {
    const height = width < 480 ? 180 : 220;
    const pts = data.points;
    const max = Math.max(1, ...pts.map((p) => p.count + (p.errors || 0)));
    const ticks = niceTicks(max, 4);
    const top = ticks[ticks.length - 1];
    const left = labelWidth(ticks, formatCompact);
    const right = 8;
    const bottom = 24;
    const plotW = Math.max(10, width - left - right);
    const plotH = height - bottom - 8;
    const start = data.start;
    const end = Math.max(data.end, start + data.bucketMs);
    const span = end - start;
    const x = (t) => left + ((t - start) / span) * plotW;
    const y = (v) => 8 + plotH - (v / top) * plotH;
    const events = pts.reduce((a, p) => a + p.count, 0);
    const errors = pts.reduce((a, p) => a + (p.errors || 0), 0);
    const svg = frame(container, width, height,
      `Events over time: ${formatNumber(events)} events and ${formatNumber(errors)} errors from ${formatDateTime(start)} to ${formatDateTime(end)}`);
    yAxis(svg, ticks, left, left + plotW, y, formatCompact);
    const colW = Math.max(1, (data.bucketMs / span) * plotW);
    const gap = colW > 4 ? 1 : 0;
    for (const p of pts) {
      const err = p.errors || 0;
      if (!(p.count + err > 0)) continue;
      const x0 = (x(p.t) + gap / 2).toFixed(2);
      const w = Math.max(1, colW - gap).toFixed(2);
      const tip = `${formatDateTime(p.t)}: ${formatNumber(p.count)} events${err ? `, ${formatNumber(err)} errors` : ""}`;
      if (p.count > 0) {
        svg.append(withTitle(s("rect", { class: "col", x: x0, y: y(p.count + err).toFixed(2), width: w, height: (y(err) - y(p.count + err)).toFixed(2) }), tip));
      }
      if (err > 0) {
        svg.append(withTitle(s("rect", { class: "col col-error", x: x0, y: y(err).toFixed(2), width: w, height: (y(0) - y(err)).toFixed(2) }), tip));
      }
    }
    // Round times (whole hours, days), about one label per 120 px; labels too close to an edge shift
    // inward so they are never cut off.
    const wanted = Math.max(2, Math.min(8, Math.floor(plotW / (span > 86400000 ? 130 : 90))));
    for (const tick of timeTicks(start, end, wanted)) {
      const xx = x(tick.t);
      const half = tick.label.length * 3.2;
      const anchor = xx - half < left - 4 ? "start" : xx + half > width ? "end" : "middle";
      svg.append(s("line", { class: "axis", x1: xx.toFixed(1), x2: xx.toFixed(1), y1: y(0), y2: y(0) + 4 }));
      svg.append(s("text", { x: xx.toFixed(1), y: height - 6, "text-anchor": anchor }, tick.label));
    }
  });
}

// ---- histogram -----------------------------------------------------------------------------------

/**
 * A distribution: data {buckets: [{lo, hi, count}], unit, markers: [{value, label}]}.
 * Buckets are drawn side by side at equal width (whatever their edges), labelled at their edges.
 */
export function histogram(container, data) {
  mount(container, (width) => {
    const height = width < 480 ? 170 : 200;
    const b = data.buckets;
    const max = Math.max(1, ...b.map((x) => x.count));
    const ticks = niceTicks(max, 4);
    const top = ticks[ticks.length - 1];
    const left = labelWidth(ticks, formatCompact);
    const right = 12;
    const bottom = 24;
    const plotW = Math.max(10, width - left - right);
    const plotH = height - bottom - 18;
    const y = (v) => 18 + plotH - (v / top) * plotH;
    const colW = plotW / Math.max(1, b.length);
    const total = b.reduce((a, x) => a + x.count, 0);
    const edgeLabel = axisFormatter(b.length ? b[b.length - 1].hi : 0, data.unit);
    const label = `Distribution of ${data.name || "the metric"}: ${formatNumber(total)} measurements from ${formatValue(b[0]?.lo, data.unit)} to ${formatValue(b[b.length - 1]?.hi, data.unit)}`;
    const svg = frame(container, width, height, label);
    yAxis(svg, ticks, left, left + plotW, y, formatCompact);
    b.forEach((bucket, i) => {
      if (!(bucket.count > 0)) return;
      const x0 = left + i * colW + (colW > 4 ? 1 : 0);
      const tip = `${formatValue(bucket.lo, data.unit)} – ${formatValue(bucket.hi, data.unit)}: ${formatNumber(bucket.count)}`;
      svg.append(withTitle(s("rect", { class: "col", x: x0.toFixed(2), y: y(bucket.count).toFixed(2), width: Math.max(1, colW - (colW > 4 ? 2 : 0)).toFixed(2), height: (y(0) - y(bucket.count)).toFixed(2) }), tip));
    });
    const lo = b[0].lo;
    const hi = b[b.length - 1].hi;
    const widths = b.map((x) => x.hi - x.lo);
    const uniform = hi > lo && widths.every((w) => Math.abs(w - widths[0]) <= widths[0] * 0.01);
    if (uniform) {
      // Equal buckets: a linear axis with round values (0 s, 30 s, 1 min ...), wherever they fall.
      for (const tick of valueTicks(lo, hi, Math.max(3, Math.floor(plotW / 70)), data.unit)) {
        const xx = left + ((tick.v - lo) / (hi - lo)) * plotW;
        const half = tick.label.length * 3.2;
        const anchor = xx - half < left - 4 ? "start" : xx + half > width ? "end" : "middle";
        svg.append(s("line", { class: "axis", x1: xx.toFixed(1), x2: xx.toFixed(1), y1: y(0), y2: y(0) + 4 }));
        svg.append(s("text", { x: xx.toFixed(1), y: height - 6, "text-anchor": anchor }, tick.label));
      }
    } else {
      const every = Math.max(1, Math.ceil(b.length / Math.max(2, Math.floor(plotW / 80))));
      for (let i = 0; i <= b.length; i += every) {
        const edge = i < b.length ? b[i].lo : hi;
        const anchor = i === 0 ? "start" : i >= b.length ? "end" : "middle";
        svg.append(s("text", { x: (left + i * colW).toFixed(1), y: height - 6, "text-anchor": anchor }, edgeLabel(edge)));
      }
    }
    // Markers (p50, p95) at their position inside the bucket that holds them.
    for (const m of data.markers || []) {
      const i = b.findIndex((bucket) => m.value >= bucket.lo && m.value <= bucket.hi);
      if (i < 0) continue;
      const span = b[i].hi - b[i].lo;
      const frac = span > 0 ? (m.value - b[i].lo) / span : 0.5;
      const xx = Math.round(left + (i + frac) * colW) + 0.5;
      svg.append(s("line", { class: "marker-line", x1: xx, x2: xx, y1: 14, y2: y(0) }));
      svg.append(s("text", { class: "marker-label", x: xx, y: 10, "text-anchor": xx > left + plotW - 40 ? "end" : "middle" }, m.label));
    }
  });
}
