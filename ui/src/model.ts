// From the API's JSON to what the views draw. The only place that knows the server's field names, so a
// renamed field is a one-line change here rather than a hunt through the views.

// The API's answers are read defensively: a field that is missing or of another type reads as "no value".
type Raw = any;

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const nsToMs = (v: unknown): number | null => (num(v) === null ? null : (v as number) / 1e6);
const isoToMs = (v: unknown): number | null =>
  typeof v === "string" && v ? Date.parse(v) : num(v) !== null ? ((v as number) > 1e15 ? (v as number) / 1e6 : (v as number)) : null;

export interface StatusView {
  enabled: boolean;
  userChoice: boolean;
  doNotTrack: boolean;
  reason: string;
  anonymousId: string;
  consentChangedAt: number | null;
  policyVersion: string | null;
  currentPolicyVersion: string | null;
  stored: { events: number | null; metricPoints: number | null; bytes: number | null; oldest: number | null; newest: number | null };
  storageError: string | null;
}

/** GET /status (or {consent: GET /consent}) -> consent, identity and what is stored. */
export function readStatus(raw: Raw): StatusView {
  const s = raw || {};
  const c = s.consent || {};
  const log = s.event_log || {};
  return {
    enabled: Boolean(c.enabled),
    userChoice: Boolean(c.user_choice),
    doNotTrack: Boolean(c.do_not_track),
    reason: c.reason || "",
    anonymousId: c.anonymous_user_id || "",
    consentChangedAt: isoToMs(c.consent_changed_at),
    policyVersion: c.consented_policy_version || null,
    currentPolicyVersion: c.policy_version || null,
    stored: {
      events: num(log.spans),
      metricPoints: num(log.metric_points),
      bytes: num(log.size_bytes),
      oldest: nsToMs(log.oldest_ns),
      newest: nsToMs(log.newest_ns),
    },
    storageError: s.event_log_error || null,
  };
}

export interface HistoryEntry {
  action: string;
  time: number | null;
  policyVersion: string;
  source: string;
}

/** The consent ledger (from the analytics report), newest first. */
export function readHistory(rows: Raw): HistoryEntry[] {
  return ((rows || []) as Raw[])
    .map((e) => ({ action: e.action, time: nsToMs(e.time_ns) ?? isoToMs(e.time), policyVersion: e.policy_version, source: e.source || "" }))
    .sort((a, b) => (b.time ?? 0) - (a.time ?? 0));
}

export interface Rule {
  id: string;
  description: string;
  marker: string;
  kind?: string;
  builtin?: boolean;
}

export interface RuleGroup {
  id: string;
  removes: boolean;
  title: string;
  summary: string;
  rules: Rule[];
}

// Rule groups for "what we never collect". The groups' wording is ours; which rules they list, with
// their descriptions and markers, comes from the anonymizer itself.
const RULE_GROUPS: (Omit<RuleGroup, "rules"> & { test: (id: string) => boolean })[] = [
  { id: "fields", removes: true, test: (id) => id.startsWith("key."), title: "Personal details and secrets in named fields",
    summary: "Fields such as email, username, password, token or api_key are removed whole, at any depth." },
  // Every value and text rule but the one that trims (below): a new detector lands here without a change.
  { id: "text", removes: true, test: (id) => /^(value|text)\./.test(id) && id !== "value.unsupported_type", title: "Personal data inside text",
    summary: "E-mail and IP addresses, host names, phone, card, bank account and ID numbers, and people's names are replaced wherever they appear." },
  { id: "secrets", removes: true, test: (id) => id.startsWith("secret."), title: "Credentials and API keys",
    summary: "Tokens and keys (GitHub, OpenAI, Anthropic, Hugging Face, AWS, JWTs ...) are replaced by a marker that never repeats them." },
  { id: "paths", removes: true, test: (id) => id.startsWith("path."), title: "File paths and folder names",
    summary: "Your home folder becomes ~, other people's user names are removed, and paths keep only their file name." },
  { id: "ids", removes: true, test: (id) => id.startsWith("id."), title: "User ids",
    summary: "Replaced by a keyed hash that cannot be turned back into the id." },
  { id: "trimmed", removes: false, test: (id) => /^(message|stacktrace|limit)\./.test(id) || id === "value.unsupported_type", title: "Trimmed before storing",
    summary: "Error messages keep their first line, stack traces lose source lines, very long values are cut." },
  { id: "custom", removes: true, test: () => false, title: "Your own rules", summary: "Patterns added in your privacy settings." },
  { id: "other", removes: true, test: () => true, title: "Other protections", summary: "More of the anonymizer's rules, as it describes them." },
];

/** GET /rules -> groups of rules for "what we never collect" (empty groups left out). */
export function readRules(raw: Raw): RuleGroup[] {
  const rules: Raw[] = Array.isArray(raw) ? raw : [];
  const groups: RuleGroup[] = RULE_GROUPS.map(({ test: _test, ...g }) => ({ ...g, rules: [] }));
  for (const r of rules) {
    // The user's own patterns may be named like built-in ones ("key.x"): they are theirs first.
    const builtin = r.builtin !== false;
    const i = RULE_GROUPS.findIndex((g) => (builtin ? g.test(String(r.id)) : g.id === "custom"));
    groups[i].rules.push({ id: r.id, description: r.description, marker: r.marker, kind: r.kind, builtin: r.builtin });
  }
  return groups.filter((g) => g.rules.length);
}

/** A short name for a rule (its description up to the first bracket or full stop). */
export function ruleLabel(rule: Rule | undefined): string {
  if (!rule) return "";
  const d = rule.description || rule.id;
  return d.split(/ \(|\. |\.$/)[0];
}

export interface PreviewView {
  stored: Record<string, unknown>;
  redactions: Record<string, number>;
}

/** POST /preview -> what would be stored and which rules fired. */
export function readPreview(raw: Raw): PreviewView {
  const event = { ...((raw && raw.event) || {}) };
  // The engine reports the rules that fired next to the fields: show them apart from what is stored.
  let redactions = event.redactions ?? {};
  delete event.redactions;
  if (typeof redactions === "string") {
    try {
      redactions = JSON.parse(redactions);
    } catch {
      redactions = {};
    }
  }
  return { stored: event, redactions: redactions && typeof redactions === "object" ? redactions : {} };
}

export interface SeriesPoint {
  t: number;
  count: number;
  errors: number;
}

export interface Series {
  points: SeriesPoint[];
  bucketMs: number;
  start: number;
  end: number;
  /** What the columns count, for the chart's title and tooltips: events (and errors) unless given. */
  counts?: { title: string; noun: string; nouns: string };
}

export interface PerfRow {
  name: string;
  unit: string;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p95: number | null;
}

export interface Bucket {
  lo: number;
  hi: number;
  count: number;
}

export interface Report {
  totals: { events: number; spans: number; errors: number; measurements: number; eventTypes: number; first: number | null; last: number | null };
  breakdown: { name: string; count: number; pct: number }[];
  session: { count: number; avgMs: number; maxMs: number };
  series: Series;
  performance: PerfRow[];
  slowest: { name: string; unit: string; buckets: Bucket[]; p50: number | null; p95: number | null } | null;
  api: { route: string; method: string; count: number; avg: number | null; p95: number | null; errors: number }[];
  redactions: { rule: string; count: number }[];
  errors: { type: string; count: number; category: string; example: string; last: number | null }[];
  system: { label: string; value: string }[];
  consentHistory: Raw[];
  /** A fleet hub's report (analytics/fleet/dashboard.py): k, the installs it covers (null when fewer than
   * k), and the groups left out per section. Null for one install's report. */
  fleet: { minInstalls: number; installs: number | null; suppressed: Record<string, number> } | null;
}

/** POST /analytics -> everything the dashboard draws. range: {startMs | null, endMs}. */
export function readReport(raw: Raw, range: { startMs: number | null; endMs: number }): Report {
  const r = raw || {};
  const t = r.totals || {};
  const totals = {
    events: num(t.total_events) ?? 0,
    spans: num(t.total_spans) ?? 0,
    errors: num(t.errors) ?? 0,
    measurements: num(t.performance_measurements) ?? 0,
    eventTypes: num(t.event_types) ?? 0,
    first: nsToMs(t.first_ns),
    last: nsToMs(t.last_ns),
  };
  const breakdown = ((r.event_breakdown || []) as Raw[]).map((b) => ({ name: String(b.event_type), count: b.count, pct: b.percentage }));

  const s = r.sessions || {};
  const session = { count: num(s.count) ?? 0, avgMs: (num(s.avg_s) ?? 0) * 1000, maxMs: (num(s.max_s) ?? 0) * 1000 };

  const over = r.events_over_time || {};
  const bucketMs = (num(over.bucket_ns) ?? 1e9) / 1e6;
  const points: SeriesPoint[] = ((over.buckets || []) as Raw[]).map((b) => ({ t: nsToMs(b.start_ns) ?? 0, count: b.events, errors: b.errors }));
  const firstT = points.length ? points[0].t : range.endMs - bucketMs;
  const lastT = points.length ? points[points.length - 1].t + bucketMs : range.endMs;
  const series = {
    points,
    bucketMs,
    start: range.startMs === null ? firstT : Math.min(range.startMs, firstT),
    end: range.startMs === null ? lastT : Math.max(range.endMs, lastT),
  };

  const performance: PerfRow[] = ((r.performance || []) as Raw[]).map((p) => ({
    name: p.metric_name, unit: p.unit || "", count: p.count, avg: num(p.avg), min: num(p.min), max: num(p.max), p50: num(p.p50), p95: num(p.p95),
  }));
  const sd = r.slowest_distribution || {};
  const slowestSummary = performance.find((p) => p.name === sd.metric_name && p.unit === (sd.unit || ""));
  const slowest = sd.metric_name && (sd.bins || []).length
    ? {
      name: sd.metric_name as string,
      unit: (sd.unit || "") as string,
      buckets: (sd.bins as Raw[]).map((b) => ({ lo: b.lower, hi: b.upper, count: b.count })),
      p50: slowestSummary ? slowestSummary.p50 : null,
      p95: slowestSummary ? slowestSummary.p95 : null,
    }
    : null;

  const api = ((r.api_response_times || []) as Raw[]).map((a) => ({
    route: String(a.route), method: a.method || "", count: a.count, avg: num(a.avg_ms), p95: num(a.p95_ms), errors: a.errors || 0,
  }));
  const redactions = ((r.redactions || []) as Raw[]).map((x) => ({ rule: String(x.rule_id), count: x.count }));
  const errors = ((r.errors_by_type || []) as Raw[]).map((e) => ({
    type: String(e.error_type), count: e.count, category: e.category || "", example: e.example || "", last: nsToMs(e.last_ns),
  }));

  const si = r.system_info || {};
  const join = (...parts: unknown[]) => parts.filter(Boolean).join(" ");
  const system = ([
    ["Operating system", join(si.os_type, si.os_version)],
    ["Architecture", si.arch],
    ["Python", si.python_version],
    ["Application", join(si.app_name, si.app_version)],
  ] as [string, string][]).filter(([, v]) => v).map(([label, value]) => ({ label, value }));

  return {
    totals, breakdown, session, series, performance, slowest, api, redactions, errors, system,
    consentHistory: r.consent_history || [],
    fleet: typeof r.min_installs === "number"
      ? { minInstalls: r.min_installs, installs: num(r.installs), suppressed: (r.suppressed || {}) as Record<string, number> }
      : null,
  };
}
