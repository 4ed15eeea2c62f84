// The Insights view's sections, each drawn from the typed answer of POST /insights. Every chart has a
// table or text beside it that says the same in words (colour is never the only carrier).

import { Fragment, type ReactNode } from "react";

import { Chart } from "../charts/Chart";
import { formatCompact, formatDateTime, formatNumber, formatPercent, formatValue, plural } from "../format";
import type { Series } from "../model";
import { DataTable, Empty } from "../parts";
import { drawIntervals, drawMarkedSeries, drawPercentiles, type AnomalyMark } from "./charts";
import type { Anomalies, Experiment, Heatmap, Regression, Regressions, Trend, Trends } from "./types";

const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const DAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const KIND_LABEL: Record<string, string> = { event: "event", error: "error", performance: "metric", span: "span", http: "route" };
const MAX_MARKS = 30;

/** p-values as people read them: "p < 0.001", "p = 0.034". */
export function formatP(p: number | null | undefined): string {
  if (typeof p !== "number" || !Number.isFinite(p)) return "–";
  if (p < 0.001) return "p < 0.001";
  return `p = ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

/** 0.35 -> "+35%"; -0.1 -> "−10%". */
export function formatChange(ratio: number | null | undefined): string {
  if (typeof ratio !== "number" || !Number.isFinite(ratio)) return "–";
  const pct = ratio * 100;
  const text = formatNumber(Math.abs(pct), Math.abs(pct) < 10 ? 1 : 0);
  return `${pct >= 0 ? "+" : "−"}${text}%`;
}

const share = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? formatPercent(v * 100) : "–");
const ns = (v: number | null | undefined) => (typeof v === "number" ? v / 1e6 : null);

export function Section({ id, title, note, children }: { id: string; title: string; note?: ReactNode; children: ReactNode }) {
  return (
    <section className="card insights-section" aria-labelledby={`h-${id}`} id={`insights-${id}`}>
      <div className="card-head">
        <h2 id={`h-${id}`}>{title}</h2>
        {note ? <span className="card-note">{note}</span> : null}
      </div>
      {children}
    </section>
  );
}

// -- regressions ------------------------------------------------------------------------------------

function RegressionCard({ r }: { r: Regression }) {
  const unit = r.unit ?? "ms";
  const before = r.previous_version ? `Before (${r.previous_version})` : "Before";
  const after = r.version ? `After (${r.version})` : "After";
  return (
    <article className="regression" data-series={r.series} aria-labelledby={`reg-${r.series}-${r.change_ns}`}>
      <div className="regression-head">
        <h3 id={`reg-${r.series}-${r.change_ns}`}>
          <span className="regression-name">{r.series}</span> <span className="kind">{KIND_LABEL[r.kind] ?? r.kind}</span>
        </h3>
        <p className="regression-change">
          <strong className="slower">{formatChange(r.relative_change)}</strong> <span className="muted">median ({formatP(r.p_value)})</span>
        </p>
      </div>
      <p className="regression-where">
        Began in version <strong className="regression-version">{r.version ?? "unknown"}</strong>
        {r.previous_version && r.previous_version !== r.version ? <> (was {r.previous_version})</> : null}, around {formatDateTime(ns(r.change_ns))}.
      </p>
      <Chart data={{ rows: [
        { label: before, p50: r.before_p50, p95: r.before_p95, after: false },
        { label: after, p50: r.after_p50, p95: r.after_p95, after: true },
      ], unit, name: `${r.series} before and after the change` }} draw={drawPercentiles} />
      <p className="pct-legend muted small" aria-hidden="true">Dark bar: median (p50). Light bar: 95th percentile (p95).</p>
      <DataTable label={`${r.series}: before and after`} columns={["When", "p50", "p95", "Samples"]} rows={[
        { key: "before", cells: [before, formatValue(r.before_p50, unit), formatValue(r.before_p95, unit), formatNumber(r.before_count)] },
        { key: "after", cells: [after, formatValue(r.after_p50, unit), formatValue(r.after_p95, unit), formatNumber(r.after_count)] },
      ]} />
    </article>
  );
}

export function RegressionsPanel({ data }: { data: Regressions }) {
  const items = data.items;
  return (
    <Section id="regressions" title="Performance regressions" note={`${plural(data.series_examined, "series", "series")} examined`}>
      {items.length ? (
        <div className="regressions">{items.map((r) => <RegressionCard key={`${r.series}-${r.change_ns}`} r={r} />)}</div>
      ) : (
        <Empty title="No slowdown found.">
          {data.series_examined
            ? `Durations are compared before and after every possible change point (at least ${plural(data.min_samples, "sample")} on each side).`
            : "Timed work (track_performance, spans, API requests) is compared across versions once there is enough of it."}
        </Empty>
      )}
    </Section>
  );
}

// -- anomalies --------------------------------------------------------------------------------------

export function AnomaliesPanel({ data, series }: { data: Anomalies; series: Series | null }) {
  const items = data.items.slice(0, MAX_MARKS);
  // Several series can leave their rhythm in the same hour (an error type and all errors): one mark per hour.
  const byHour = new Map<number, AnomalyMark>();
  items.forEach((a, i) => {
    const tip = `${i + 1}. ${a.series} (${a.measure}): ${formatNumber(a.observed)} observed, ${formatNumber(a.expected, 1)} expected, ${a.day_of_week} ${a.date} ${a.hour}:00 UTC`;
    const mark = byHour.get(a.window_start_ns);
    if (mark) {
      mark.label = `${mark.label},${i + 1}`;
      mark.spike = mark.spike || a.direction === "spike";
      mark.tip += `\n${tip}`;
    } else {
      byHour.set(a.window_start_ns, { start: a.window_start_ns / 1e6, end: a.window_end_ns / 1e6, label: String(i + 1), spike: a.direction === "spike", tip });
    }
  });
  const marks = [...byHour.values()];
  const hasSeries = series !== null && series.points.some((p) => p.count + p.errors > 0);
  return (
    <Section id="anomalies" title="Anomalies" note={data.hours_examined ? `${plural(data.hours_examined, "series-hour")} judged` : undefined}>
      {hasSeries ? (
        <>
          <h3 className="sub-head">Events over time, anomalous hours marked</h3>
          <Chart id="chart-anomalies" data={{ series: series as Series, marks }} draw={drawMarkedSeries} />
          <div className="legend" aria-hidden="true">
            <span>Events</span><span className="legend-error">Errors</span><span className="legend-anomaly">Anomalous hour (numbered as below)</span>
          </div>
        </>
      ) : null}
      {items.length ? (
        <DataTable label="Anomalous hours" columns={["Series", "#", "When (UTC)", "Observed", "Expected", "Score"]}
          rows={items.map((a, i) => ({
            key: `${a.series}-${a.measure}-${a.window_start_ns}`,
            className: a.direction === "spike" ? "is-spike" : "is-drop",
            cells: [
              <>{a.series} <span className="kind">{a.measure === "errors" ? "errors" : KIND_LABEL[a.kind] ?? a.kind}</span> <span className="direction">{a.direction}</span></>,
              String(i + 1),
              `${a.day_of_week} ${a.date}, ${String(a.hour).padStart(2, "0")}:00`,
              formatNumber(a.observed),
              formatNumber(a.expected, 1),
              formatNumber(a.score, 1),
            ],
          }))} />
      ) : (
        <Empty title="No anomalous hour.">
          {data.hours_examined
            ? "Every hour's counts stayed within their usual rhythm for that hour of the week."
            : `Each series is judged against its own hour-of-week rhythm once it has ${plural(data.min_weeks + 1, "week")} of history.`}
        </Empty>
      )}
      {data.items.length > items.length ? <p className="barlist-more">{`and ${plural(data.items.length - items.length, "more hour")}`}</p> : null}
    </Section>
  );
}

// -- heatmap ----------------------------------------------------------------------------------------

function level(count: number, max: number): number {
  if (!(count > 0) || !(max > 0)) return 0;
  return Math.min(5, Math.max(1, Math.ceil((5 * count) / max)));
}

/** Use by hour of day and day of week as a table (numbers in the cells, shade as a second cue). */
export function HeatmapPanel({ data }: { data: Heatmap }) {
  const grid = DAY_NAMES.map(() => new Array<number>(24).fill(0));
  for (const c of data.hour_of_week) {
    if (c.day_of_week >= 0 && c.day_of_week < 7 && c.hour >= 0 && c.hour < 24) grid[c.day_of_week][c.hour] += c.count;
  }
  const max = Math.max(0, ...grid.flat());
  const hours = Array.from({ length: 24 }, (_, h) => h);
  const cell = (d: number, h: number) => {
    const n = grid[d][h];
    return <td key={`${d}-${h}`} className={`heat heat-${level(n, max)}`}>{n ? formatCompact(n) : ""}</td>;
  };
  return (
    <Section id="heatmap" title="When it is used" note="hour of day × day of week, UTC">
      {max > 0 ? (
        <>
          <div className="table-wrap heat-wide" tabIndex={0} role="region" aria-label="Events by day of week and hour (UTC)">
            <table className="heatmap" id="heatmap-table">
              <caption className="visually-hidden">Events by day of week (rows) and hour of day, UTC (columns); empty cells had none.</caption>
              <thead>
                <tr><td className="heat-corner" />{hours.map((h) => <th key={h} scope="col" abbr={`${h}:00`}>{String(h).padStart(2, "0")}</th>)}</tr>
              </thead>
              <tbody>
                {DAY_NAMES.map((day, d) => (
                  <tr key={day}><th scope="row" abbr={day}>{DAY_SHORT[d]}</th>{hours.map((h) => cell(d, h))}</tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="table-wrap heat-narrow" tabIndex={0} role="region" aria-label="Events by hour and day of week (UTC)">
            <table className="heatmap heatmap-tall">
              <caption className="visually-hidden">Events by hour of day, UTC (rows) and day of week (columns); empty cells had none.</caption>
              <thead>
                <tr><th scope="col">UTC</th>{DAY_SHORT.map((day, d) => <th key={day} scope="col" abbr={DAY_NAMES[d]}>{day}</th>)}</tr>
              </thead>
              <tbody>
                {hours.map((h) => (
                  <tr key={h}><th scope="row">{`${String(h).padStart(2, "0")}:00`}</th>{DAY_NAMES.map((_, d) => cell(d, h))}</tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="heat-scale muted small" aria-hidden="true">
            Fewer <span className="heat heat-1" /> <span className="heat heat-2" /> <span className="heat heat-3" /> <span className="heat heat-4" /> <span className="heat heat-5" /> more · busiest hour {formatNumber(max)}
          </p>
          <FeatureByVersion data={data} />
        </>
      ) : (
        <Empty title="No events yet.">Once PEFT Studio records events, this shows which hours of the week it is used.</Empty>
      )}
    </Section>
  );
}

const MAX_FEATURES = 12;
const MAX_VERSIONS = 6;

/** Each feature's share of its version's events: which features a release changed the use of. */
function FeatureByVersion({ data }: { data: Heatmap }) {
  const versions = data.versions.slice(-MAX_VERSIONS);
  const features = data.features.slice(0, MAX_FEATURES);
  if (!versions.length || !features.length) return null;
  const byKey = new Map(data.feature_by_version.map((c) => [`${c.feature}\u0000${c.version}`, c]));
  return (
    <>
      <h3 className="sub-head">Share of each version's events, by feature</h3>
      <DataTable label="Feature use by app version" columns={["Feature", ...versions]}
        rows={features.map((f) => ({
          key: f,
          cells: [f, ...versions.map((v) => share(byKey.get(`${f}\u0000${v}`)?.share ?? 0))],
        }))} />
    </>
  );
}

// -- trends -----------------------------------------------------------------------------------------

function trendRow(t: Trend, rising: boolean) {
  const interval = t.rate_ratio === null ? "new" : `${formatNumber(t.ratio_ci_low, 2)}–${t.ratio_ci_high === null ? "∞" : formatNumber(t.ratio_ci_high, 2)}×`;
  return {
    key: `${rising ? "up" : "down"}-${t.series}`,
    cells: [
      <>{t.series} <span className="direction">{rising ? "rising" : "falling"}</span></>,
      formatNumber(t.earlier_per_day, 1),
      formatNumber(t.recent_per_day, 1),
      t.change_pct === null ? "new" : formatChange(t.change_pct / 100),
      interval,
      formatP(t.p_value),
    ],
  };
}

export function TrendsPanel({ data }: { data: Trends }) {
  const rows = [...data.rising.map((t) => trendRow(t, true)), ...data.falling.map((t) => trendRow(t, false))];
  const note = data.recent_days ? `last ${formatNumber(data.recent_days, 1)} days against the ${formatNumber(data.earlier_days, 1)} before` : undefined;
  return (
    <Section id="trends" title="Trends" note={note}>
      {rows.length ? (
        <DataTable label="Rising and falling features" columns={["Feature", "Before /day", "Recent /day", "Change", "Rate ratio (95%)", "p"]} rows={rows} />
      ) : (
        <Empty title="No significant change in use.">
          {data.series_tested ? `${plural(data.series_tested, "event type")} tested; none rose or fell beyond chance.` : "Trends need events on more than a few days."}
        </Empty>
      )}
    </Section>
  );
}

// -- experiments ------------------------------------------------------------------------------------

function ExperimentCard({ x }: { x: Experiment }) {
  const headId = `exp-${x.series}`;
  return (
    <article className="experiment" data-experiment={x.series} aria-labelledby={headId}>
      <div className="regression-head">
        <h3 id={headId}><span className="regression-name">{x.series}</span></h3>
        <span className="card-note">{plural(x.units, "unit")} · SRM {formatP(x.srm_p_value)}</span>
      </div>
      {x.srm_flagged ? (
        <p className="flag flag-srm" data-flag="srm">
          <strong>Sample ratio mismatch.</strong> The variants did not get the share of installs their weights promise: the split
          is broken, so do not read the results below.
        </p>
      ) : null}
      {!x.enough_units ? (
        <p className="flag flag-units" data-flag="too-few-units">
          <strong>Too few units.</strong> One install is one unit; each variant needs results from more installs before it can
          be compared.
        </p>
      ) : null}
      <p className="experiment-message">{x.message}</p>
      <DataTable label={`${x.series}: exposures`} columns={["Variant", "Units", "Expected share", "Observed share"]}
        rows={x.variants.map((v) => ({ key: v.variant, cells: [v.variant, formatNumber(v.units), share(v.expected_share), share(v.observed_share)] }))} />
      {x.goals.map((g) => (
        <Fragment key={`goal-${g.goal}`}>
          <h4 className="sub-head">{`Conversion to ${g.goal}`}</h4>
          {g.variants.length ? (
            <Chart data={{ name: `Conversion to ${g.goal} by variant, with 95% intervals`, format: (v: number) => formatPercent(v * 100), scale: 100, suffix: "%",
              rows: g.variants.map((v) => ({ label: v.variant, value: v.rate, low: v.ci_low, high: v.ci_high })) }} draw={drawIntervals} />
          ) : null}
          <DataTable label={`${x.series}: conversion to ${g.goal}`} columns={["Variant", "Converted", "Rate (95% CI)", "Difference (95% CI)", "p"]}
            rows={g.variants.map((v) => ({
              key: v.variant,
              cells: [
                v.variant,
                `${formatNumber(v.conversions)} of ${formatNumber(v.units)}`,
                `${share(v.rate)} (${share(v.ci_low)}–${share(v.ci_high)})`,
                v.diff === null ? "control" : `${v.diff >= 0 ? "+" : "−"}${formatPercent(Math.abs(v.diff) * 100)} (${share(v.diff_ci_low)} to ${share(v.diff_ci_high)})`,
                v.p_value === null ? "–" : formatP(v.p_value),
              ],
            }))} />
        </Fragment>
      ))}
      {x.metrics.map((m) => (
        <Fragment key={`metric-${m.metric}`}>
          <h4 className="sub-head">{`Mean ${m.metric}`}</h4>
          {m.variants.length ? (
            <Chart data={{ name: `Mean ${m.metric} by variant, with 95% intervals`, format: (v: number) => formatValue(v, m.unit), scale: 1, suffix: m.unit ? ` ${m.unit}` : "",
              rows: m.variants.map((v) => ({ label: v.variant, value: v.mean, low: v.ci_low, high: v.ci_high })) }} draw={drawIntervals} />
          ) : null}
          <DataTable label={`${x.series}: mean ${m.metric}`} columns={["Variant", "Units", "Mean (95% CI)", "Difference (95% CI)", "p"]}
            rows={m.variants.map((v) => ({
              key: v.variant,
              cells: [
                v.variant,
                formatNumber(v.units),
                `${formatValue(v.mean, m.unit)}${v.ci_low !== null && v.ci_high !== null ? ` (${formatValue(v.ci_low, m.unit)}–${formatValue(v.ci_high, m.unit)})` : ""}`,
                v.diff === null ? "control" : `${formatValue(v.diff, m.unit)}${v.diff_ci_low !== null && v.diff_ci_high !== null ? ` (${formatValue(v.diff_ci_low, m.unit)} to ${formatValue(v.diff_ci_high, m.unit)})` : ""}`,
                v.p_value === null ? "–" : formatP(v.p_value),
              ],
            }))} />
        </Fragment>
      ))}
    </article>
  );
}

export function ExperimentsPanel({ data }: { data: { items: Experiment[]; min_units_per_variant: number } }) {
  return (
    <Section id="experiments" title="Experiments" note={data.min_units_per_variant ? `at least ${plural(data.min_units_per_variant, "unit")} per variant` : undefined}>
      {data.items.length ? (
        <div className="experiments">{data.items.map((x) => <ExperimentCard key={x.series} x={x} />)}</div>
      ) : (
        <Empty title="No experiments recorded.">
          Call <code>telemetry.experiment("name", ["control", "new"])</code> where the app shows a variant; results need many installs.
        </Empty>
      )}
    </Section>
  );
}
