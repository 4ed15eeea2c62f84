import { useCallback, useEffect, useId, useRef, useState, type HTMLAttributes } from "react";

import type { InsightsFilter, InsightsReport } from "./types";
import { useStoreSnapshot, useTelemetryStore, type ConnectionProps } from "../context";
import { formatDateTime } from "../format";
import { readReport, type Series } from "../model";
import { NoticeScope, useNotices } from "../notices";
import { INSIGHTS_GROUPS, leftOutText } from "../leftOut";
import { Empty } from "../parts";
import { AnomaliesPanel, ExperimentsPanel, HeatmapPanel, RegressionsPanel, TrendsPanel } from "./panels";
import "./insights.css";

const RANGES = [
  { value: "604800", label: "Last 7 days" },
  { value: "2419200", label: "Last 4 weeks" },
  { value: "7257600", label: "Last 12 weeks" },
  { value: "all", label: "All time" },
];

export interface TelemetryInsightsProps extends ConnectionProps {
  /** False while the view is out of sight (a tab not shown): it loads when it becomes active. */
  active?: boolean;
  /** Filters sent with every request besides the range picked in the view (goals, metrics, alpha). */
  filter?: Omit<InsightsFilter, "since" | "until">;
  /** Called after every load: drawn (true) or failed (false). */
  onDraw?: (ok: boolean) => void;
  /** Attributes for the root element (the page makes it a tab panel). */
  rootProps?: HTMLAttributes<HTMLElement>;
  /** Drawn on a fleet hub's page: over what installs shared; a hub has no consent state to ask for. */
  hub?: boolean;
}

/**
 * Insights from the event log (POST /insights): performance regressions with the version where they
 * began, anomalous hours marked on the events-over-time chart, use by hour of day and day of week,
 * trends, and A/B experiments with their intervals and sample-ratio check.
 *
 * @example
 * <TelemetryInsights baseUrl="http://127.0.0.1:8000" token={token} />
 */
export function TelemetryInsights(props: TelemetryInsightsProps) {
  return (
    <NoticeScope>
      <InsightsView {...props} />
    </NoticeScope>
  );
}

interface Loaded {
  report: InsightsReport;
  series: Series | null;
  at: number;
  loads: number;
}

function sinceOf(range: string): { since?: string; startMs: number | null } {
  if (range === "all") return { startMs: null };
  const startMs = Date.now() - Number(range) * 1000;
  return { since: new Date(startMs).toISOString(), startMs };
}

function InsightsView({ active = true, filter, onDraw, rootProps, hub = false, ...connection }: TelemetryInsightsProps) {
  const store = useTelemetryStore(connection);
  const { status, version } = useStoreSnapshot(store);
  const notices = useNotices();
  const rangeId = useId();
  const [range, setRange] = useState("all");
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [failed, setFailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const drawHook = useRef(onDraw);
  drawHook.current = onDraw;
  const extra = useRef(filter);
  extra.current = filter;
  // The latest request wins: an answer to an older range is dropped.
  const ticket = useRef(0);

  const load = useCallback(async (rangeValue: string) => {
    const mine = ++ticket.current;
    setBusy(true);
    const { since, startMs } = sinceOf(rangeValue);
    try {
      const [report, raw] = await Promise.all([
        store.client.insights({ ...(extra.current ?? {}), ...(since ? { since } : {}) }),
        // The events-over-time columns the anomalies are marked on, over the same range.
        store.client.analytics(startMs === null ? {} : { start_ns: Math.floor(startMs) * 1e6 }),
      ]);
      if (mine !== ticket.current) return;
      const series = readReport(raw, { startMs, endMs: Date.now() }).series;
      setLoaded((prev) => ({ report, series, at: Date.now(), loads: (prev?.loads ?? 0) + 1 }));
      setFailed(false);
      notices.clear();
    } catch (err) {
      if (mine !== ticket.current) return;
      setFailed(true);
      notices.fail("Could not load the insights", err);
      drawHook.current?.(false);
    } finally {
      if (mine === ticket.current) setBusy(false);
    }
  }, [store, notices]);

  // Shown again with the same range and data: what is drawn still holds (the report is not cheap on a
  // large log). The Refresh button asks again regardless.
  const drawnFor = useRef("");
  useEffect(() => {
    const key = `${range}|${version}`;
    if (!active || drawnFor.current === key) return;
    drawnFor.current = key;
    load(range);
  }, [active, range, version, load]);

  useEffect(() => {
    if (loaded) drawHook.current?.(true);
  }, [loaded]);

  // The consent state the page's pill shows, when this view is the first one opened.
  useEffect(() => {
    if (status === null && !hub) store.loadConsent().catch(() => {});
  }, [store, status, hub]);

  async function refresh() {
    await load(range);
    notices.announce("Insights refreshed.");
  }

  const r = loaded?.report ?? null;
  return (
    <section className="view ptu-insights" aria-busy={busy || undefined} data-loads={loaded ? String(loaded.loads) : undefined} {...rootProps}>
      <div className="toolbar">
        <div>
          <h1>Insights</h1>
          <p className="subtitle">
            {hub
              ? "Slowdowns, unusual hours, patterns of use and experiments across the installs that share with this hub; groups of too few installs are left out."
              : "Slowdowns, unusual hours, patterns of use and experiments, found in the event log on this computer."}
          </p>
        </div>
        <div className="toolbar-actions">
          <label className="field" htmlFor={rangeId}>
            Period
            <select id={rangeId} value={range} onChange={(e) => setRange(e.target.value)}>
              {RANGES.map((x) => (
                <option key={x.value} value={x.value}>{x.label}</option>
              ))}
            </select>
          </label>
          <button className="btn" type="button" onClick={refresh}>Refresh</button>
        </div>
      </div>
      {hub && r && typeof r.min_installs === "number" ? (
        <p className="banner banner-info" id="insights-suppressed">{leftOutText(r.min_installs, r.suppressed, INSIGHTS_GROUPS)}</p>
      ) : null}
      {r ? (
        <>
          <RegressionsPanel data={r.regressions} />
          <AnomaliesPanel data={r.anomalies} series={loaded?.series ?? null} />
          <HeatmapPanel data={r.heatmap} />
          <TrendsPanel data={r.trends} />
          <ExperimentsPanel data={r.experiments} />
          <p className="updated" aria-live="off">{`Computed ${formatDateTime(loaded?.at)}. Hours and days are UTC.`}</p>
        </>
      ) : failed ? (
        <Empty title="No insights to show.">They could not be loaded; the message above says why.</Empty>
      ) : (
        <Empty title="Reading the event log…" />
      )}
    </section>
  );
}
