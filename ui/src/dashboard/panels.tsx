// The dashboard's panels, each drawn from the normalized report (model.ts). Every panel has an empty
// state that says what to do next.

import type { ReactNode } from "react";

import { BarList } from "../charts/BarList";
import { Chart } from "../charts/Chart";
import { drawHistogram, drawTimeSeries, type HistogramData } from "../charts/draw";
import { formatDateTime, formatDuration, formatNumber, formatPercent, formatValue, plural } from "../format";
import { ruleLabel, type Report, type Rule } from "../model";
import { DataTable, Empty } from "../parts";

const API_ROWS = 8; // the busiest routes; the rest are counted below the table

export function Panel({ id, title, note, noteId, wide, children }: {
  id: string; title: string; note?: ReactNode; noteId?: string; wide?: boolean; children: ReactNode;
}) {
  return (
    <section className={wide ? "card panel-wide" : "card"} aria-labelledby={`h-${id}`}>
      <div className="card-head">
        <h2 id={`h-${id}`}>{title}</h2>
        <span className="card-note" id={noteId}>{note}</span>
      </div>
      {children}
    </section>
  );
}

export function Stat({ id, label, value, sub, nonzero, error }: {
  id: string; label: string; value: string; sub: string; nonzero?: boolean; error?: boolean;
}) {
  return (
    <div className={error ? "card stat stat-error" : "card stat"}>
      <span className="stat-label" id={`l-${id}`}>{label}</span>
      <span className="stat-value" id={`stat-${id}`} aria-labelledby={`l-${id}`} data-nonzero={nonzero === undefined ? undefined : String(nonzero)}>
        {value}
      </span>
      <span className="stat-sub" id={`stat-${id}-sub`}>{sub}</span>
    </div>
  );
}

/** Total events, session length, event types and errors; dashes until the first report. */
export function SummaryCards({ r }: { r: Report | null }) {
  if (!r) {
    return (
      <div className="stats" id="stats">
        <Stat id="total" label="Total events" value="–" sub="" />
        <Stat id="session" label="Session duration" value="–" sub="" />
        <Stat id="types" label="Event types" value="–" sub="" />
        <Stat id="errors" label="Errors" value="–" sub="" error />
      </div>
    );
  }
  const t = r.totals;
  const ss = r.session;
  const all = t.events + t.errors;
  return (
    <div className="stats" id="stats">
      <Stat id="total" label="Total events" value={formatNumber(t.events)} sub={t.first ? `since ${formatDateTime(t.first)}` : "none in this period"} />
      <Stat id="session" label="Session duration" value={ss.count ? formatDuration(ss.avgMs) : "–"}
        sub={ss.count ? `average of ${plural(ss.count, "session")} · longest ${formatDuration(ss.maxMs)}` : "no sessions in this period"} />
      <Stat id="types" label="Event types" value={formatNumber(t.eventTypes)} sub={r.breakdown[0] ? `most used: ${r.breakdown[0].name}` : ""} />
      <Stat id="errors" label="Errors" value={formatNumber(t.errors)} error nonzero={t.errors > 0}
        sub={all ? `${formatPercent((100 * t.errors) / all)} of events and errors` : ""} />
    </div>
  );
}

export function TimePanel({ r, enabled, allTime }: { r: Report | null; enabled: boolean; allTime: boolean }) {
  const s = r?.series;
  const n = s ? s.points.reduce((a, p) => a + p.count + (p.errors || 0), 0) : 0;
  let body: ReactNode = <div className="chart" id="chart-time" />;
  if (r && s && n) {
    body = (
      <>
        <Chart id="chart-time" data={s} draw={drawTimeSeries} />
        {s.points.some((p) => p.errors > 0) ? (
          <div className="legend" aria-hidden="true"><span>Events</span><span className="legend-error">Errors</span></div>
        ) : null}
      </>
    );
  } else if (r) {
    body = (
      <div className="chart" id="chart-time">
        {enabled ? (
          <Empty title="No events in this period.">
            {allTime ? "Use PEFT Studio and events appear here within a few seconds." : "Choose a longer time range above."}
          </Empty>
        ) : (
          <Empty title="Nothing recorded yet.">Turn telemetry on in the Privacy tab, then use PEFT Studio.</Empty>
        )}
      </div>
    );
  }
  return (
    <Panel id="time" title="Events over time" wide noteId="time-note" note={n && s?.bucketMs ? `per ${formatDuration(s.bucketMs)}` : ""}>
      {body}
    </Panel>
  );
}

export function BreakdownPanel({ r }: { r: Report | null }) {
  return (
    <Panel id="breakdown" title="Event breakdown" noteId="breakdown-note" note={r?.breakdown.length ? plural(r.breakdown.length, "type") : ""}>
      <div id="breakdown">
        {r && !r.breakdown.length ? (
          <Empty title="No events yet.">Record one with <code>track_event("training_started")</code>.</Empty>
        ) : null}
        {r?.breakdown.length ? (
          <BarList items={r.breakdown.map((b) => ({ name: b.name, value: b.count, label: formatPercent(b.pct), extra: formatNumber(b.count) }))} />
        ) : null}
      </div>
    </Panel>
  );
}

export function ErrorsPanel({ r }: { r: Report | null }) {
  const total = r ? r.errors.reduce((a, e) => a + e.count, 0) : 0;
  return (
    <Panel id="errors" title="Errors by type" noteId="errors-note" note={total ? plural(total, "error") : ""}>
      <div id="errors">
        {r && !r.errors.length ? (
          <Empty title="No errors in this period.">Errors reported with <code>track_error(exc)</code> are grouped here by type.</Empty>
        ) : null}
        {r?.errors.length ? (
          <BarList fill="bar-fill-error" items={r.errors.map((e) => ({
            name: e.type,
            value: e.count,
            label: formatNumber(e.count),
            extra: formatPercent(total ? (100 * e.count) / total : 0),
            title: [e.category && `category: ${e.category}`, e.example && `latest: ${e.example}`, e.last && `at ${formatDateTime(e.last)}`].filter(Boolean).join("\n") || null,
          }))} />
        ) : null}
      </div>
    </Panel>
  );
}

export function PerformancePanel({ r }: { r: Report | null }) {
  const slowest = r?.slowest ?? null;
  let histogram: HistogramData | null = null;
  if (slowest && slowest.buckets.length) {
    const markers = [];
    if (slowest.p50 !== null) markers.push({ value: slowest.p50, label: "p50" });
    if (slowest.p95 !== null) markers.push({ value: slowest.p95, label: "p95" });
    histogram = { buckets: slowest.buckets, unit: slowest.unit, name: slowest.name, markers };
  }
  return (
    <Panel id="perf" title="Performance" wide note="from track_performance">
      <div id="perf">
        {r && !r.performance.length ? (
          <Empty title="No measurements yet.">Record one with <code>track_performance("api_response_time", 150.5, "ms")</code>.</Empty>
        ) : null}
        {r?.performance.length ? (
          <DataTable label="Performance metrics" columns={["Metric", "Count", "Avg", "Min", "Max", "p95"]}
            rows={r.performance.map((p) => ({
              key: `${p.name}|${p.unit}`,
              className: p.name === slowest?.name ? "is-slowest" : undefined,
              cells: [p.name, formatNumber(p.count), formatValue(p.avg, p.unit), formatValue(p.min, p.unit), formatValue(p.max, p.unit), formatValue(p.p95, p.unit)],
            }))} />
        ) : null}
      </div>
      {histogram && r?.performance.length ? (
        <div className="perf-chart" id="perf-chart-wrap">
          <h3 id="perf-chart-title">{`Distribution of ${histogram.name}, the slowest metric (by p95)`}</h3>
          <Chart id="chart-perf" data={histogram} draw={drawHistogram} />
        </div>
      ) : null}
    </Panel>
  );
}

/** A route with line-break opportunities after each "/", so narrow screens break between segments. */
function breakable(route: string): ReactNode[] {
  return route.split(/(?<=\/)/).flatMap((part, i) => (i ? [<wbr key={i} />, part] : [part]));
}

export function ApiPanel({ r }: { r: Report | null }) {
  const shown = r ? r.api.slice(0, API_ROWS) : [];
  return (
    <Panel id="api" title="API response times" note="per route">
      <div id="api-times">
        {r && !r.api.length ? (
          <Empty title="No API requests recorded.">Requests to the service's own API are timed here, by route, while telemetry is on.</Empty>
        ) : null}
        {shown.length ? (
          <DataTable label="API response times" columns={["Route", "Requests", "Avg", "p95"]}
            rows={shown.map((a) => ({
              key: `${a.method} ${a.route}`,
              cells: [
                <>{a.method ? <span className="mono">{`${a.method} `}</span> : null}{breakable(a.route)}</>,
                <>{formatNumber(a.count)}{a.errors ? <span className="failed">{` · ${formatNumber(a.errors)} failed`}</span> : null}</>,
                formatDuration(a.avg),
                formatDuration(a.p95),
              ],
            }))} />
        ) : null}
        {r && r.api.length > shown.length ? <p className="barlist-more">{`and ${plural(r.api.length - shown.length, "less used route")}`}</p> : null}
      </div>
    </Panel>
  );
}

export function RedactionsPanel({ r, rules }: { r: Report | null; rules: Map<string, Rule> }) {
  const total = r ? r.redactions.reduce((a, x) => a + x.count, 0) : 0;
  return (
    <Panel id="redact" title="What was redacted" noteId="redact-note" note={total ? `${plural(total, "value")} removed` : ""}>
      <div id="redactions">
        {r && !r.redactions.length ? (
          <Empty title="Nothing needed redacting in this period.">
            When an event carries an e-mail address, a path or a secret, the rule that removed it is counted here.
          </Empty>
        ) : null}
        {r?.redactions.length ? (
          <BarList fill="bar-fill-redact" items={r.redactions.map((x) => {
            const rule = rules.get(x.rule);
            return { key: x.rule, name: rule ? ruleLabel(rule) : x.rule, value: x.count, label: formatNumber(x.count), extra: x.rule, title: rule ? rule.description : null };
          })} />
        ) : null}
      </div>
    </Panel>
  );
}

export function SystemPanel({ r }: { r: Report | null }) {
  return (
    <Panel id="system" title="System information" wide note="anonymized">
      <div id="system">
        {r && !r.system.length ? <Empty title="No system information yet.">It is recorded with the first event once telemetry is on.</Empty> : null}
        {r?.system.length ? (
          <dl className="facts sysinfo">
            {r.system.map((s) => [<dt key={`${s.label}-t`}>{s.label}</dt>, <dd key={`${s.label}-d`}>{s.value}</dd>])}
          </dl>
        ) : null}
      </div>
    </Panel>
  );
}
