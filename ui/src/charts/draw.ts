// Charts as inline SVG, drawn at the container's pixel width (so text stays crisp at any size). No
// library, no network: a time series of columns and a histogram are all the dashboard needs. Drawn
// with DOM calls rather than through React: at a thousand columns this is several times cheaper than
// reconciling a thousand elements, and every label still goes in as text (event names are user data).

import { axisFormatter, durationFactor, formatCompact, formatDateTime, formatDuration, formatNumber, formatValue, timeTicks } from "../format";
import type { Bucket, Series } from "../model";

const NS = "http://www.w3.org/2000/svg";

function s(tag: string, attrs: Record<string, string | number | null | undefined> = {}, text?: string): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  if (text !== undefined) el.textContent = text;
  return el;
}

function withTitle(el: SVGElement, text: string): SVGElement {
  el.append(s("title", {}, text));
  return el;
}

/** Round axis steps (1, 2, 5 × 10^n) covering 0..max with about `count` ticks. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw) || 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const DURATION_STEPS_MS = [0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((x) => x * 1000);

/**
 * Round tick values between lo and hi for a measurement axis, labelled in its unit. Durations step in
 * clock units (15 s, 30 s, 1 min, 5 min ...) so labels read "1 min 30 s", never "1.5 min".
 */
export function valueTicks(lo: number, hi: number, wanted: number, unit?: string | null): { v: number; label: string }[] {
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

function frame(container: HTMLElement, width: number, height: number, label: string): SVGElement {
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  container.replaceChildren(svg);
  return svg;
}

function yAxis(svg: SVGElement, ticks: number[], x0: number, x1: number, y: (v: number) => number, fmt: (v: number) => string): void {
  for (const t of ticks) {
    const yy = Math.round(y(t)) + 0.5;
    svg.append(s("line", { class: t === 0 ? "axis" : "gridline", x1: x0, x2: x1, y1: yy, y2: yy }));
    svg.append(s("text", { x: x0 - 6, y: yy + 4, "text-anchor": "end" }, fmt(t)));
  }
}

function labelWidth(ticks: number[], fmt: (v: number) => string): number {
  return Math.max(...ticks.map((t) => fmt(t).length)) * 6.5 + 10;
}

/** Where drawTimeSeries put its plot, so that marks can be drawn over it (the Insights view's anomalies). */
export interface TimeSeriesGeometry {
  svg: SVGElement;
  x: (t: number) => number;
  top: number;
  bottom: number;
}

/** Columns per time bucket; errors are stacked under the events of the same bucket, in red. */
export function drawTimeSeries(container: HTMLElement, data: Series, width: number): TimeSeriesGeometry {
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
  const x = (t: number) => left + ((t - start) / span) * plotW;
  const y = (v: number) => 8 + plotH - (v / top) * plotH;
  const events = pts.reduce((a, p) => a + p.count, 0);
  const errors = pts.reduce((a, p) => a + (p.errors || 0), 0);
  const what = data.counts;
  const total = what ? `${what.title}: ${formatNumber(events)} ${what.nouns}` : `Events over time: ${formatNumber(events)} events and ${formatNumber(errors)} errors`;
  const svg = frame(container, width, height, `${total} from ${formatDateTime(start)} to ${formatDateTime(end)}`);
  yAxis(svg, ticks, left, left + plotW, y, formatCompact);
  const colW = Math.max(1, (data.bucketMs / span) * plotW);
  const gap = colW > 4 ? 1 : 0;
  for (const p of pts) {
    const err = p.errors || 0;
    if (!(p.count + err > 0)) continue;
    const x0 = (x(p.t) + gap / 2).toFixed(2);
    const w = Math.max(1, colW - gap).toFixed(2);
    const tip = `${formatDateTime(p.t)}: ${formatNumber(p.count)} ${what ? (p.count === 1 ? what.noun : what.nouns) : "events"}${err ? `, ${formatNumber(err)} errors` : ""}`;
    if (p.count > 0) {
      svg.append(withTitle(s("rect", { class: "col", x: x0, y: y(p.count + err).toFixed(2), width: w, height: (y(err) - y(p.count + err)).toFixed(2) }), tip));
    }
    if (err > 0) {
      svg.append(withTitle(s("rect", { class: "col col-error", x: x0, y: y(err).toFixed(2), width: w, height: (y(0) - y(err)).toFixed(2) }), tip));
    }
  }
  // Round times (whole hours, days), about one label per 90-130 px; labels too close to an edge shift
  // inward so they are never cut off.
  const wanted = Math.max(2, Math.min(8, Math.floor(plotW / (span > 86400000 ? 130 : 90))));
  for (const tick of timeTicks(start, end, wanted)) {
    const xx = x(tick.t);
    const half = tick.label.length * 3.2;
    const anchor = xx - half < left - 4 ? "start" : xx + half > width ? "end" : "middle";
    svg.append(s("line", { class: "axis", x1: xx.toFixed(1), x2: xx.toFixed(1), y1: y(0), y2: y(0) + 4 }));
    svg.append(s("text", { x: xx.toFixed(1), y: height - 6, "text-anchor": anchor }, tick.label));
  }
  return { svg, x, top: 8, bottom: y(0) };
}

export interface HistogramData {
  buckets: Bucket[];
  unit: string;
  name: string;
  markers: { value: number; label: string }[];
}

/**
 * The buckets with every gap between two of them filled by empty ones (a fleet hub leaves out bins of too
 * few installs): drawn side by side, each bucket then stays at its place on the axis. Equal-width buckets
 * get as many equal empty ones as fit the gap; others one empty bucket spanning it.
 */
export function fillGaps(buckets: Bucket[]): Bucket[] {
  if (buckets.length < 2) return buckets;
  const w = buckets[0].hi - buckets[0].lo;
  const equal = w > 0 && buckets.every((x) => Math.abs(x.hi - x.lo - w) <= w * 0.01);
  const out: Bucket[] = [buckets[0]];
  for (const next of buckets.slice(1)) {
    const prev = out[out.length - 1];
    const gap = next.lo - prev.hi;
    if (gap > Math.max(Math.abs(next.lo), Math.abs(prev.hi), 1e-300) * 1e-9) {
      const n = equal ? Math.max(1, Math.round(gap / w)) : 1;
      for (let i = 0; i < n; i++) {
        out.push({ lo: prev.hi + (gap * i) / n, hi: i === n - 1 ? next.lo : prev.hi + (gap * (i + 1)) / n, count: 0 });
      }
    }
    out.push(next);
  }
  return out;
}

/** A distribution: buckets side by side at equal width (gaps kept as empty buckets), labelled at their edges. */
export function drawHistogram(container: HTMLElement, data: HistogramData, width: number): void {
  const height = width < 480 ? 170 : 200;
  const b = fillGaps(data.buckets);
  const max = Math.max(1, ...b.map((x) => x.count));
  const ticks = niceTicks(max, 4);
  const top = ticks[ticks.length - 1];
  const left = labelWidth(ticks, formatCompact);
  const right = 12;
  const bottom = 24;
  const plotW = Math.max(10, width - left - right);
  const plotH = height - bottom - 18;
  const y = (v: number) => 18 + plotH - (v / top) * plotH;
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
    let taken = -Infinity; // the right end of the last label drawn: a label that would overlap it is skipped
    for (const tick of valueTicks(lo, hi, Math.max(3, Math.floor(plotW / 70)), data.unit)) {
      const xx = left + ((tick.v - lo) / (hi - lo)) * plotW;
      const half = tick.label.length * 3.2;
      const anchor = xx - half < left - 4 ? "start" : xx + half > width ? "end" : "middle";
      const from = anchor === "start" ? xx : anchor === "end" ? xx - 2 * half : xx - half;
      if (from < taken + 6) continue;
      taken = from + 2 * half;
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
  for (const m of data.markers) {
    const i = b.findIndex((bucket) => m.value >= bucket.lo && m.value <= bucket.hi);
    if (i < 0) continue;
    const span = b[i].hi - b[i].lo;
    const frac = span > 0 ? (m.value - b[i].lo) / span : 0.5;
    const xx = Math.round(left + (i + frac) * colW) + 0.5;
    svg.append(s("line", { class: "marker-line", x1: xx, x2: xx, y1: 14, y2: y(0) }));
    svg.append(s("text", { class: "marker-label", x: xx, y: 10, "text-anchor": xx > left + plotW - 40 ? "end" : "middle" }, m.label));
  }
}
