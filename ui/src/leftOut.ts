// What a fleet hub left out of a report to protect individuals (groups backed by fewer than k installs),
// said in words: the Fleet, Dashboard and Insights views of a hub's page all end their numbers with it.

import { plural } from "./format";

/** Per section: the group's name, one and many ("app version", "app versions"); a 1-tuple names a whole. */
export type GroupNames = Record<string, [string] | [string, string]>;

/** The fleet report's sections (GET /fleet, analytics/fleet/reports.py). */
export const FLEET_GROUPS: GroupNames = {
  totals: ["the fleet total"],
  versions: ["app version", "app versions"],
  os_mix: ["operating system", "operating systems"],
  daily_installs: ["day", "days"],
};

/** The dashboard report's sections (POST /analytics on a hub, analytics/fleet/dashboard.py). */
export const DASHBOARD_GROUPS: GroupNames = {
  totals: ["the whole selection"],
  event_breakdown: ["event type", "event types"],
  errors_by_type: ["error type", "error types"],
  performance: ["metric", "metrics"],
  events_over_time: ["time bucket", "time buckets"],
  slowest_distribution: ["histogram bin", "histogram bins"],
  api_response_times: ["API route", "API routes"],
  sessions: ["the session figures"],
  redactions: ["redaction rule", "redaction rules"],
};

/** The insights report's sections (analytics/insights/models.py, InsightsReport.suppressed). */
export const INSIGHTS_GROUPS: GroupNames = {
  fleet: ["the whole fleet"],
  trends: ["trend series", "trend series"],
  anomaly_series: ["anomaly series", "anomaly series"],
  anomaly_hours: ["anomalous hour", "anomalous hours"],
  regression_series: ["regression series", "regression series"],
  regression_versions: ["app version compared for regressions", "app versions compared for regressions"],
  heatmap_cells: ["heatmap cell", "heatmap cells"],
  feature_by_version: ["feature row by version", "feature rows by version"],
  experiment_arms: ["experiment arm", "experiment arms"],
  experiment_outcomes: ["experiment outcome", "experiment outcomes"],
  experiment_goals: ["experiment goal", "experiment goals"],
  experiment_metrics: ["experiment metric", "experiment metrics"],
};

/**
 * "Left out to protect individuals, as each is backed by fewer than 5 installs: 1 app version, 2 days."
 * (or that nothing had to be). Sections the names do not know are named as they come.
 */
export function leftOutText(minInstalls: number, suppressed: Record<string, number> | undefined, names: GroupNames): string {
  const parts = Object.entries(suppressed ?? {})
    .filter(([, n]) => n > 0)
    .map(([section, n]) => {
      const [one, many] = names[section] ?? [section.replace(/_/g, " ")];
      return many === undefined ? one : plural(n, one, many);
    });
  const k = plural(minInstalls, "install");
  if (!parts.length) return `Every group shown is backed by at least ${k}; none had to be left out.`;
  return `Left out to protect individuals, as each is backed by fewer than ${k}: ${parts.join(", ")}.`;
}
