// The answer of POST /api/telemetry/insights, field for field as analytics/insights/models.py defines it
// (the server adds fields, never renames them). Times are integer nanoseconds since the epoch, UTC; hours
// and days of week are UTC too.

/** What a series is made of: an event type, an error type, a track_performance metric, a span name, a route. */
export type SeriesKind = "event" | "error" | "performance" | "span" | "http";

/** POST /insights filters: every field optional; since/until are ISO 8601 (UTC when no zone is given). */
export interface InsightsFilter {
  since?: string | null;
  until?: string | null;
  /** Experiment goal event types (default: the most frequent ones after exposure). */
  goals?: string[] | null;
  /** Experiment metric names (default: the most frequent ones). */
  metrics?: string[] | null;
  /** Significance level of every flag (0 < alpha <= 0.2; 0.01 by default). */
  alpha?: number;
}

export interface Trend {
  series: string;
  kind: SeriesKind;
  earlier_count: number;
  recent_count: number;
  earlier_per_day: number;
  recent_per_day: number;
  /** recent / earlier rate; null when the series is new. */
  rate_ratio: number | null;
  ratio_ci_low: number;
  /** null: unbounded (no use in the earlier period). */
  ratio_ci_high: number | null;
  change_pct: number | null;
  p_value: number;
  significant: boolean;
}

export interface Trends {
  start_ns: number | null;
  split_ns: number | null;
  end_ns: number | null;
  recent_days: number;
  earlier_days: number;
  series_tested: number;
  rising: Trend[];
  falling: Trend[];
  method: string;
}

export interface Anomaly {
  series: string;
  kind: SeriesKind;
  measure: "events" | "errors";
  window_start_ns: number;
  window_end_ns: number;
  /** The window's UTC date, YYYY-MM-DD. */
  date: string;
  /** Mon..Sun, UTC. */
  day_of_week: string;
  /** 0..23, UTC. */
  hour: number;
  observed: number;
  expected: number;
  score: number;
  p_value: number;
  direction: "spike" | "drop";
}

export interface Anomalies {
  series_examined: number;
  hours_examined: number;
  min_weeks: number;
  window_start_ns: number | null;
  window_end_ns: number | null;
  threshold: number;
  items: Anomaly[];
  method: string;
}

export interface Regression {
  series: string;
  kind: SeriesKind;
  unit: string | null;
  /** The first sample after the change point. */
  change_ns: number;
  /** service.version of the first sample after the change point. */
  version: string | null;
  previous_version: string | null;
  before_count: number;
  after_count: number;
  before_p50: number;
  before_p95: number;
  after_p50: number;
  after_p95: number;
  /** after_p50 / before_p50 - 1 (0.35 = 35% slower); null when before_p50 is 0. */
  relative_change: number | null;
  p_value: number;
}

export interface Regressions {
  series_examined: number;
  min_samples: number;
  min_relative_change: number;
  alpha: number;
  items: Regression[];
  method: string;
}

export interface HeatCell {
  /** 0 = Monday .. 6 = Sunday (UTC). */
  day_of_week: number;
  /** 0..23 (UTC). */
  hour: number;
  count: number;
}

export interface FeatureVersionCell {
  feature: string;
  version: string;
  count: number;
  /** Of all events of that version, 0..1. */
  share: number;
}

export interface Heatmap {
  timezone: "UTC";
  hour_of_week: HeatCell[];
  versions: string[];
  features: string[];
  feature_by_version: FeatureVersionCell[];
}

export interface VariantExposure {
  variant: string;
  units: number;
  expected_share: number;
  observed_share: number;
}

export interface VariantRate {
  variant: string;
  units: number;
  conversions: number;
  rate: number;
  ci_low: number;
  ci_high: number;
  lift: number | null;
  diff: number | null;
  diff_ci_low: number | null;
  diff_ci_high: number | null;
  p_value: number | null;
}

export interface VariantMean {
  variant: string;
  units: number;
  mean: number;
  ci_low: number | null;
  ci_high: number | null;
  diff: number | null;
  diff_ci_low: number | null;
  diff_ci_high: number | null;
  p_value: number | null;
}

export interface GoalResult {
  goal: string;
  variants: VariantRate[];
}

export interface MetricResult {
  metric: string;
  unit: string | null;
  variants: VariantMean[];
}

/** One experiment across every install in the log; the first variant is the control. */
export interface Experiment {
  series: string;
  units: number;
  variants: VariantExposure[];
  srm_p_value: number | null;
  /** The split is broken (p < 0.01): do not read the results. */
  srm_flagged: boolean;
  enough_units: boolean;
  /** Says in words what can and cannot be read. */
  message: string;
  goals: GoalResult[];
  metrics: MetricResult[];
}

export interface Experiments {
  min_units_per_variant: number;
  items: Experiment[];
  method: string;
}

/** Everything the Insights view shows, read in one snapshot of the event log. */
export interface InsightsReport {
  trends: Trends;
  anomalies: Anomalies;
  regressions: Regressions;
  heatmap: Heatmap;
  experiments: Experiments;
  /** A fleet report only (a hub's insights): groups of fewer installs than this are left out. */
  min_installs?: number | null;
  /** A fleet report only: per kind of group, how many were left out for having fewer than min_installs installs. */
  suppressed?: Record<string, number>;
}
