// The Insights view's charts, drawn like the dashboard's (inline SVG at the box's pixel width, labels as
// text, no library): the events-over-time columns with the anomalous hours marked, a slowdown's
// before/after percentiles on one axis, and an experiment's intervals side by side.

import { drawTimeSeries, valueTicks } from "../charts/draw";
import { formatNumber, formatValue } from "../format";
import type { Series } from "../model";

const NS = "http://www.w3.org/2000/svg";

function el(tag: string, attrs: Record<string, string | number | null | undefined> = {}, text?: string): SVGElement {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function titled(node: SVGElement, text: string): SVGElement {
  node.append(el("title", {}, text));
  return node;
}

export interface AnomalyMark {
  /** The hour's start and end, milliseconds since the epoch. */
  start: number;
  end: number;
  /** Its number in the table beside the chart. */
  label: string;
  spike: boolean;
  tip: string;
}

export interface MarkedSeries {
  series: Series;
  marks: AnomalyMark[];
}

/** The events-over-time columns with each anomalous hour marked by a numbered flag at the top. */
export function drawMarkedSeries(container: HTMLElement, data: MarkedSeries, width: number): void {
  const g = drawTimeSeries(container, data.series, width);
  const label = g.svg.getAttribute("aria-label") || "";
  const n = data.marks.length;
  g.svg.setAttribute("aria-label", `${label}. ${n ? `${formatNumber(n)} anomalous ${n === 1 ? "hour" : "hours"} marked, listed in the table below` : "No anomalous hour"}.`);
  for (const m of data.marks) {
    const mid = g.x((m.start + m.end) / 2);
    // An hour outside the drawn range (the chart's range is the dashboard report's) gets no mark.
    if (!Number.isFinite(mid) || mid < g.x(data.series.start) || mid > g.x(Math.max(data.series.end, data.series.start + data.series.bucketMs))) continue;
    const xx = Math.round(mid) + 0.5;
    const cls = m.spike ? "anomaly anomaly-spike" : "anomaly anomaly-drop";
    const mark = el("g", { class: cls });
    mark.append(el("line", { class: "anomaly-line", x1: xx, x2: xx, y1: g.top + 14, y2: g.bottom }));
    const half = Math.max(7, m.label.length * 3.2 + 3);
    mark.append(el("rect", { class: "anomaly-dot", x: xx - half, y: g.top - 1, width: 2 * half, height: 14, rx: 7 }));
    mark.append(el("text", { class: "anomaly-label", x: xx, y: g.top + 9.5, "text-anchor": "middle" }, m.label));
    g.svg.append(titled(mark, m.tip));
  }
}

export interface PercentileRow {
  label: string;
  p50: number;
  p95: number;
  after: boolean;
}

export interface PercentileData {
  rows: PercentileRow[];
  unit: string | null;
  name: string;
}

/**
 * Before and after a slowdown on one axis: for each side a bar to its p95 with the part up to the p50
 * darker, so the shift of the middle and of the tail both show.
 */
export function drawPercentiles(container: HTMLElement, data: PercentileData, width: number): void {
  const rowH = 30;
  const top = 6;
  const bottom = 22;
  const height = top + data.rows.length * rowH + bottom;
  const max = Math.max(1e-9, ...data.rows.map((r) => r.p95)) * 1.08;
  const left = Math.min(150, Math.max(60, ...data.rows.map((r) => r.label.length * 7 + 12)));
  const right = 12;
  const plotW = Math.max(10, width - left - right);
  const x = (v: number) => left + (Math.max(0, v) / max) * plotW;
  const fmt = (v: number) => formatValue(v, data.unit);
  const desc = data.rows.map((r) => `${r.label}: p50 ${fmt(r.p50)}, p95 ${fmt(r.p95)}`).join("; ");
  const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${data.name}. ${desc}` });
  container.replaceChildren(svg);
  const axisY = top + data.rows.length * rowH;
  for (const tick of valueTicks(0, max, Math.max(3, Math.floor(plotW / 80)), data.unit)) {
    const xx = Math.round(x(tick.v)) + 0.5;
    svg.append(el("line", { class: tick.v === 0 ? "axis" : "gridline", x1: xx, x2: xx, y1: top, y2: axisY }));
    const anchor = xx < left + 20 ? "start" : xx > width - 30 ? "end" : "middle";
    svg.append(el("text", { x: xx, y: height - 6, "text-anchor": anchor }, tick.label));
  }
  data.rows.forEach((r, i) => {
    const y0 = top + i * rowH + 6;
    svg.append(el("text", { class: "ci-name", x: 0, y: y0 + 13 }, r.label));
    const cls = r.after ? "pct-after" : "pct-before";
    svg.append(titled(el("rect", { class: `pct-tail ${cls}`, x: left, y: y0, width: Math.max(1, x(r.p95) - left).toFixed(2), height: 18, rx: 3 }), `${r.label}: p95 ${fmt(r.p95)}`));
    svg.append(titled(el("rect", { class: `pct-mid ${cls}`, x: left, y: y0, width: Math.max(1, x(r.p50) - left).toFixed(2), height: 18, rx: 3 }), `${r.label}: p50 ${fmt(r.p50)}`));
  });
}

export interface IntervalRow {
  label: string;
  value: number;
  low: number | null;
  high: number | null;
}

export interface IntervalData {
  rows: IntervalRow[];
  /** How values read (a rate as a percentage, a metric in its unit). */
  format: (v: number) => string;
  /** For axis labels finer than `format` reads: value x scale, with that many decimals, then the suffix. */
  scale: number;
  suffix: string;
  name: string;
}

/** Each variant's estimate as a dot with its 95% interval as a line; the control's estimate as a dashed rule. */
export function drawIntervals(container: HTMLElement, data: IntervalData, width: number): void {
  const labelW = Math.min(160, Math.max(60, ...data.rows.map((r) => r.label.length * 7 + 12)));
  const rowH = 28;
  const top = 4;
  const bottom = 22;
  const height = top + data.rows.length * rowH + bottom;
  const values = data.rows.flatMap((r) => [r.value, r.low ?? r.value, r.high ?? r.value]);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
  lo -= pad;
  hi += pad;
  const left = labelW;
  const right = 16;
  const plotW = Math.max(10, width - left - right);
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * plotW;
  const desc = data.rows
    .map((r) => `${r.label}: ${data.format(r.value)}${r.low !== null && r.high !== null ? ` (95% interval ${data.format(r.low)} to ${data.format(r.high)})` : ""}`)
    .join("; ");
  const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${data.name}. ${desc}` });
  container.replaceChildren(svg);
  const axisY = top + data.rows.length * rowH;
  const ticks = valueTicks(lo, hi, Math.max(3, Math.floor(plotW / 90)), null);
  let labels = ticks.map((t) => data.format(t.v));
  if (new Set(labels).size < labels.length && ticks.length > 1) {
    // Ticks closer than the readable format tells apart: as many decimals as the step needs.
    const step = Math.abs(ticks[1].v - ticks[0].v) * data.scale;
    const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(step))));
    labels = ticks.map((t) => `${formatNumber(t.v * data.scale, decimals)}${data.suffix}`);
  }
  ticks.forEach((tick, i) => {
    const xx = Math.round(x(tick.v)) + 0.5;
    svg.append(el("line", { class: "gridline", x1: xx, x2: xx, y1: top, y2: axisY }));
    const anchor = xx < left + 20 ? "start" : xx > width - 30 ? "end" : "middle";
    svg.append(el("text", { x: xx, y: height - 6, "text-anchor": anchor }, labels[i]));
  });
  const control = data.rows[0];
  if (control) {
    const cx = Math.round(x(control.value)) + 0.5;
    svg.append(el("line", { class: "ci-control", x1: cx, x2: cx, y1: top, y2: axisY }));
  }
  data.rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    svg.append(el("text", { class: "ci-name", x: 0, y: cy + 4 }, r.label));
    const g = el("g", { class: i === 0 ? "ci ci-first" : "ci" });
    if (r.low !== null && r.high !== null) {
      g.append(el("line", { class: "ci-line", x1: x(r.low).toFixed(1), x2: x(r.high).toFixed(1), y1: cy, y2: cy }));
      for (const end of [r.low, r.high]) g.append(el("line", { class: "ci-line", x1: x(end).toFixed(1), x2: x(end).toFixed(1), y1: cy - 5, y2: cy + 5 }));
    }
    g.append(el("circle", { class: "ci-dot", cx: x(r.value).toFixed(1), cy, r: 4.5 }));
    svg.append(titled(g, `${r.label}: ${data.format(r.value)}${r.low !== null && r.high !== null ? `, 95% interval ${data.format(r.low)} – ${data.format(r.high)}` : ""}`));
  });
}
