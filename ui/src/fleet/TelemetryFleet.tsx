// The fleet view of a hub's page: what the installs that share with it add up to (GET /fleet, the
// `fleet` report of analytics/fleet/reports.py). Every group the hub reports is backed by at least
// min_installs installs; the groups left out for that are counted and said, so the numbers read right.

import { useCallback, useEffect, useRef, useState, type HTMLAttributes } from "react";

import { BarList } from "../charts/BarList";
import { Chart } from "../charts/Chart";
import { drawTimeSeries } from "../charts/draw";
import type { FleetReport } from "../client";
import { useTelemetryStore, type ConnectionProps } from "../context";
import { formatDateTime, formatNumber, formatPercent, plural } from "../format";
import type { Series } from "../model";
import { NoticeScope, useNotices } from "../notices";
import { Panel, Stat } from "../dashboard/panels";
import { Empty } from "../parts";
import { FLEET_GROUPS, leftOutText } from "../leftOut";

const DAY_MS = 86_400_000;

export interface TelemetryFleetProps extends ConnectionProps {
  /** False while the view is out of sight (a tab not shown): it loads when it becomes active. */
  active?: boolean;
  /** Called after every load: drawn or failed. */
  onDraw?: (ok: boolean) => void;
  /** Attributes for the root element (the hub's page makes it a tab panel). */
  rootProps?: HTMLAttributes<HTMLElement>;
}

/**
 * The fleet overview of a telemetry hub: installs, events, sessions and errors, app versions, the OS
 * mix and installs per day, with how many groups were left out to protect individual installs.
 *
 * @example
 * <TelemetryFleet baseUrl="http://hub.example:4318" token={hubToken} />
 */
export function TelemetryFleet(props: TelemetryFleetProps) {
  return (
    <NoticeScope>
      <FleetView {...props} />
    </NoticeScope>
  );
}

/** "YYYY-MM-DD" as local midnight, so the chart's day ticks fall on the columns. */
function dayMs(day: string): number {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
}

export function dailySeries(report: FleetReport): Series | null {
  const days = report.daily_installs;
  if (!days.length) return null;
  const points = days.map((d) => ({ t: dayMs(d.day), count: d.installs, errors: 0 }));
  const start = points[0].t;
  return {
    points, bucketMs: DAY_MS, start, end: points[points.length - 1].t + DAY_MS,
    counts: { title: "Installs per day", noun: "install", nouns: "installs" },
  };
}

/** "Left out to protect individuals (fewer than 5 installs each): 1 app version, 2 days." */
export function suppressedText(report: FleetReport): string {
  return leftOutText(report.min_installs, report.suppressed, FLEET_GROUPS);
}

function FleetView({ active = true, onDraw, rootProps, ...connection }: TelemetryFleetProps) {
  const store = useTelemetryStore(connection);
  const notices = useNotices();
  const [report, setReport] = useState<FleetReport | null>(null);
  const [busy, setBusy] = useState(false);
  const drawHook = useRef(onDraw);
  drawHook.current = onDraw;

  const load = useCallback(async () => {
    setBusy(true);
    try {
      setReport(await store.client.fleet());
      drawHook.current?.(true);
    } catch (err) {
      notices.fail("Could not load the fleet report", err);
      drawHook.current?.(false);
    } finally {
      setBusy(false);
    }
  }, [store, notices]);

  useEffect(() => {
    if (active) load();
  }, [active, load]);

  const t = report?.totals ?? null;
  const series = report ? dailySeries(report) : null;
  const installs = (n: number) => plural(n, "install");
  const k = report?.min_installs;

  return (
    <section className="view ptu-fleet" aria-busy={busy || undefined} {...rootProps}>
      <div className="toolbar">
        <div>
          <h1>Fleet</h1>
          <p className="subtitle" id="fleet-subtitle">
            What the installs that share with this hub add up to, re-anonymized on arrival.
            {k ? ` Only groups of at least ${plural(k, "install")} are shown.` : ""}
          </p>
        </div>
        <div className="toolbar-actions">
          <button className="btn" id="fleet-refresh" type="button" onClick={() => load().then(() => notices.announce("Fleet report refreshed."))}>
            Refresh
          </button>
        </div>
      </div>

      {report ? (
        <p className="banner banner-info" id="fleet-suppressed">{suppressedText(report)}</p>
      ) : null}

      {report && !t ? (
        <Empty title={`Fewer than ${plural(report.min_installs, "install")} share with this hub so far.`}>
          Nothing is shown until the fleet is large enough for no number to describe a single install.
        </Empty>
      ) : (
        <div className="stats" id="fleet-stats">
          <Stat id="fleet-installs" label="Installs" value={t ? formatNumber(t.installs) : "–"} sub="that share with this hub" />
          <Stat id="fleet-events" label="Records" value={t ? formatNumber(t.events) : "–"}
            sub={t?.first_ns && t.last_ns ? `${formatDateTime(t.first_ns)} to ${formatDateTime(t.last_ns)}` : ""} />
          <Stat id="fleet-sessions" label="Sessions" value={t ? formatNumber(t.sessions) : "–"} sub={t && t.installs ? `${formatNumber(t.sessions / t.installs, 1)} per install` : ""} />
          <Stat id="fleet-errors" label="Errors" value={t ? formatNumber(t.errors) : "–"} error nonzero={t ? t.errors > 0 : undefined}
            sub={t && t.events ? `${formatPercent((100 * t.errors) / t.events)} of records` : ""} />
        </div>
      )}

      <div className="panels">
        <Panel id="fleet-daily" title="Installs per day" wide note={series ? `${plural(series.points.length, "day")} shown` : ""}>
          {series ? <Chart id="chart-fleet-daily" data={series} draw={drawTimeSeries} /> : null}
          {report && !series ? <Empty title="No day has enough installs to show." /> : null}
        </Panel>
        <Panel id="fleet-versions" title="App versions" note="installs · records">
          <div id="fleet-versions">
            {report && !report.versions.length ? <Empty title="No version has enough installs to show." /> : null}
            {report?.versions.length ? (
              <BarList items={report.versions.map((v) => ({
                key: v.app_version ?? "", name: v.app_version ?? "unknown", value: v.installs, label: installs(v.installs), extra: plural(v.events, "record"),
              }))} />
            ) : null}
          </div>
        </Panel>
        <Panel id="fleet-os" title="Operating systems" note="installs · records">
          <div id="fleet-os">
            {report && !report.os_mix.length ? <Empty title="No operating system has enough installs to show." /> : null}
            {report?.os_mix.length ? (
              <BarList items={report.os_mix.map((o) => ({
                key: o.os_type ?? "", name: o.os_type ?? "unknown", value: o.installs, label: installs(o.installs), extra: plural(o.events, "record"),
              }))} />
            ) : null}
          </div>
        </Panel>
      </div>
    </section>
  );
}
