// Readable numbers: thousands separators, units, durations in human units, dates in the user's locale.
// Pure functions with no DOM access.

/** A value made on first use: building Intl formatters loads locale data, which a cold page pays for. */
function lazy<T>(make: () => T): () => T {
  let value: T | null = null;
  return () => (value ??= make());
}

const integer = lazy(() => new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }));
const compactFmt = lazy(() => new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }));
const pct1 = lazy(() => new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
const byDigits = new Map<number, Intl.NumberFormat>();
const dateTime = lazy(() => new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }));
// toLocale*String builds a formatter on every call; axis labels reuse these instead.
const tickFormats = new Map<string, Intl.DateTimeFormat>();
function tickFormat(kind: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let fmt = tickFormats.get(kind);
  if (!fmt) tickFormats.set(kind, (fmt = new Intl.DateTimeFormat(undefined, options)));
  return fmt;
}
const rtf = lazy(() => new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }));

export const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** 1234567 -> "1,234,567" (locale separators); fractions keep up to `digits` decimals. */
export function formatNumber(value: unknown, digits = 0): string {
  if (!isNum(value)) return "–";
  if (digits === 0) return integer().format(value);
  let fmt = byDigits.get(digits);
  if (!fmt) byDigits.set(digits, (fmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: digits })));
  return fmt.format(value);
}

/** Axis labels: 1200 -> "1.2K". */
export function formatCompact(value: unknown): string {
  if (!isNum(value)) return "–";
  return Math.abs(value) < 1000 ? formatNumber(value, Math.abs(value) < 10 ? 1 : 0) : compactFmt().format(value);
}

/** 42.345 (already a percentage) -> "42.3%"; tiny non-zero shares read "<0.1%", not "0.0%". */
export function formatPercent(pct: unknown): string {
  if (!isNum(pct)) return "–";
  if (pct > 0 && pct < 0.05) return "<0.1%";
  if (pct === 100 || pct === 0) return `${formatNumber(pct)}%`;
  return `${pct1().format(pct)}%`;
}

/** Three significant digits, never scientific notation: 0.0123 -> "0.0123", 152.4 -> "152". */
function sig(value: number, digits = 3): string {
  const abs = Math.abs(value);
  const decimals = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : Math.min(6, digits - Math.floor(Math.log10(abs)) - 1);
  return formatNumber(value, Math.max(0, decimals));
}

/** Milliseconds in human units: 0.42 -> "0.42 ms", 1520 -> "1.52 s", 200000 -> "3 min 20 s". */
export function formatDuration(ms: unknown): string {
  if (!isNum(ms)) return "–";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return "0 ms";
  if (ms < 1000) return `${sig(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${sig(s)} s`;
  const total = Math.round(s);
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) return hours ? `${formatNumber(days)} d ${hours} h` : `${formatNumber(days)} d`;
  if (hours > 0) return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/** Bytes in binary units: 1536 -> "1.5 KiB". */
export function formatBytes(bytes: unknown): string {
  if (!isNum(bytes)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return `${i === 0 ? formatNumber(value) : sig(value)} ${units[i]}`;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, sec: 1000, min: 60000, h: 3600000 };
const BYTE_UNITS: Record<string, number> = { By: 1, B: 1, bytes: 1, byte: 1, KB: 1000, kB: 1000, KiB: 1024, MB: 1e6, MiB: 1048576, GB: 1e9 };

/** Milliseconds per one `unit`, or null when the unit is not a duration. */
export function durationFactor(unit: string | null | undefined): number | null {
  const u = (unit || "").trim();
  return u in DURATION_UNITS ? DURATION_UNITS[u] : null;
}

/** A measurement with its unit, read the way a person would say it. */
export function formatValue(value: unknown, unit?: string | null): string {
  if (!isNum(value)) return "–";
  const u = (unit || "").trim();
  if (u in DURATION_UNITS) return formatDuration(value * DURATION_UNITS[u]);
  if (u in BYTE_UNITS) return formatBytes(value * BYTE_UNITS[u]);
  if (u === "%" || u === "percent") return formatPercent(value);
  if (u === "1" || u === "ratio") return formatPercent(value * 100);
  if (!u) return sig(value);
  return `${sig(value)} ${u}`;
}

/**
 * Labels for one axis: every tick in the same unit, chosen from the largest value, so a duration axis
 * reads "0 s, 20 s, 40 s, 60 s, 80 s" rather than mixing seconds and minutes.
 */
export function axisFormatter(max: number, unit?: string | null): (v: number) => string {
  const u = (unit || "").trim();
  const one = (scale: number, suffix: string) => (v: number) =>
    `${formatNumber(v / scale, Math.abs(v / scale) < 10 ? 1 : 0)} ${suffix}`;
  if (u in DURATION_UNITS) {
    const f = DURATION_UNITS[u];
    const maxMs = Math.abs(max * f);
    const [scale, suffix]: [number, string] =
      maxMs < 1 ? [1e-3, "µs"] : maxMs < 1000 ? [1, "ms"] : maxMs < 120000 ? [1000, "s"] : maxMs < 7200000 ? [60000, "min"] : [3600000, "h"];
    const inner = one(scale, suffix);
    return (v) => inner(v * f);
  }
  if (u in BYTE_UNITS) {
    const f = BYTE_UNITS[u];
    const maxB = Math.abs(max * f);
    const steps: [number, string][] = [[1, "B"], [1024, "KiB"], [1048576, "MiB"], [1073741824, "GiB"]];
    const [scale, suffix] = steps.filter(([sc]) => maxB >= sc).pop() || steps[0];
    const inner = one(scale, suffix);
    return (v) => inner(v * f);
  }
  if (u === "1" || u === "ratio") return (v) => formatPercent(v * 100);
  if (u === "%" || u === "percent") return (v) => formatPercent(v);
  return (v) => (u ? `${formatCompact(v)} ${u}` : formatCompact(v));
}

export type TimeLike = Date | string | number | null | undefined;

function toDate(t: TimeLike): Date | null {
  if (t instanceof Date) return t;
  if (typeof t === "string") return new Date(t);
  if (isNum(t)) return new Date(t > 1e15 ? t / 1e6 : t); // nanoseconds or milliseconds
  return null;
}

/** "28 Nov 2026, 14:05" in the user's locale. */
export function formatDateTime(t: TimeLike): string {
  const d = toDate(t);
  if (!d || Number.isNaN(d.getTime())) return "–";
  return dateTime().format(d);
}

/** "3 minutes ago", "yesterday". */
export function formatRelative(t: TimeLike, now = Date.now()): string {
  const d = toDate(t);
  if (!d || Number.isNaN(d.getTime())) return "";
  const diff = (d.getTime() - now) / 1000;
  const abs = Math.abs(diff);
  if (abs < 45) return "just now";
  if (abs < 3600) return rtf().format(Math.round(diff / 60), "minute");
  if (abs < 86400) return rtf().format(Math.round(diff / 3600), "hour");
  return rtf().format(Math.round(diff / 86400), "day");
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR,
  3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 365 * DAY];

export interface TimeTick {
  t: number;
  label: string;
}

/**
 * Round tick times between start and end (ms): at most `count` of them, on whole minutes, hours or days
 * of local time.
 */
export function timeTicks(start: number, end: number, count: number): TimeTick[] {
  const span = Math.max(1, end - start);
  const step = TIME_STEPS.find((st) => span / st <= count) || TIME_STEPS[TIME_STEPS.length - 1];
  const offset = new Date(start).getTimezoneOffset() * MINUTE; // align to local midnight, not UTC's
  let t = Math.ceil((start - offset) / step) * step + offset;
  const ticks: TimeTick[] = [];
  for (; t <= end && ticks.length <= count; t += step) ticks.push({ t, label: formatTimeTick(t, span, step) });
  return ticks;
}

/** A tick label, as coarse as the step between ticks allows. */
export function formatTimeTick(ms: number, spanMs: number, stepMs = spanMs / 5): string {
  const d = new Date(ms);
  if (stepMs >= 28 * DAY) return tickFormat("month", { year: "numeric", month: "short" }).format(d);
  const day = tickFormat("day", { month: "short", day: "numeric" });
  if (stepMs >= DAY) return day.format(d);
  const time = stepMs < MINUTE
    ? tickFormat("seconds", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(d)
    : tickFormat("minutes", { hour: "2-digit", minute: "2-digit" }).format(d);
  if (spanMs <= DAY) return time;
  return `${day.format(d)}, ${time}`;
}

/** "1 event" / "3 events". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatNumber(n)} ${n === 1 ? word : many}`;
}
