import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type HTMLAttributes } from "react";

import { useStoreSnapshot, useTelemetryStore, type ConnectionProps } from "../context";
import { ExportLink } from "../export";
import { formatRelative, plural } from "../format";
import { DASHBOARD_GROUPS, leftOutText } from "../leftOut";
import { readReport, readStatus, type Report, type Rule } from "../model";
import { NoticeScope, useNotices } from "../notices";
import { ApiPanel, BreakdownPanel, ErrorsPanel, PerformancePanel, RedactionsPanel, SummaryCards, SystemPanel, TimePanel } from "./panels";

const RANGES = [
  { value: "3600", label: "Last hour" },
  { value: "86400", label: "Last 24 hours" },
  { value: "604800", label: "Last 7 days" },
  { value: "2592000", label: "Last 30 days" },
  { value: "all", label: "All time" },
];
/** Redraws on new data come no more often than this, or ten times what the last report took. */
const MIN_REDRAW_MS = 5000;

export interface DrawOutcome {
  ok: boolean;
  queryMs: number;
  drawMs: number;
  renders: number;
}

export interface TelemetryAnalyticsDashboardProps extends ConnectionProps {
  /**
   * The first report (what POST /analytics answers for no filter), when the page came with it: it is
   * drawn at once, without asking the service, then dropped.
   */
  initialReport?: unknown;
  /** False while the dashboard is out of sight (a tab not shown): it loads when it becomes active. */
  active?: boolean;
  /** Where "Turn it on" points when telemetry is off (the page's Privacy tab by default). */
  consentHref?: string;
  /** Called after every load: drawn (ok, with how long the query and the drawing took) or failed. */
  onDraw?: (outcome: DrawOutcome) => void;
  /** Attributes for the root element (the page makes it a tab panel). */
  rootProps?: HTMLAttributes<HTMLElement>;
  /**
   * Drawn on a fleet hub's page: the report covers what installs shared (groups of too few installs left
   * out), and a hub has no consent, status or export of its own, so none is asked for or offered.
   */
  hub?: boolean;
}

/**
 * The analytics dashboard: summary cards, events over time, the event breakdown with percentages, errors,
 * the performance table and distribution, API response times, redactions, system information, export.
 *
 * @example
 * <TelemetryAnalyticsDashboard baseUrl="http://127.0.0.1:8000" token={token} />
 */
export function TelemetryAnalyticsDashboard(props: TelemetryAnalyticsDashboardProps) {
  return (
    <NoticeScope>
      <DashboardView {...props} />
    </NoticeScope>
  );
}

interface Drawn {
  report: Report;
  /** The range's start the report covers (the export link follows it). */
  startNs: number | null;
  renders: number;
  queryMs: number;
  at: number;
}

function rangeFilter(value: string): { filter: { start_ns?: number }; startMs: number | null } {
  if (value === "all") return { filter: {}, startMs: null };
  const startMs = Date.now() - Number(value) * 1000;
  // Nanoseconds exceed 2^53, so a double cannot hold them exactly; a microsecond off does not matter.
  return { filter: { start_ns: Math.floor(startMs) * 1e6 }, startMs };
}

function DashboardView({ initialReport, active = true, consentHref = "#consent", onDraw, rootProps, hub = false, ...connection }: TelemetryAnalyticsDashboardProps) {
  const store = useTelemetryStore(connection);
  const { status, version } = useStoreSnapshot(store);
  const notices = useNotices();
  const rangeId = useId();
  const [range, setRange] = useState("all");
  const drawStart = useRef(0);
  // A report that came with the page is drawn in the very first render: no effect, no second pass.
  const [drawn, setDrawn] = useState<Drawn | null>(() => {
    if (initialReport === undefined) return null;
    drawStart.current = performance.now();
    return { report: readReport(initialReport, { startMs: null, endMs: Date.now() }), startNs: null, renders: 1, queryMs: 0, at: Date.now() };
  });
  const skipFirstLoad = useRef(initialReport !== undefined);
  const [rules, setRules] = useState<Map<string, Rule>>(new Map());
  const [busy, setBusy] = useState(false);
  const [, setClock] = useState(0);

  // One query at a time; a request that comes while one runs (a new range picked mid-query) is not
  // dropped: one more round runs when the current one ends, with the latest settings.
  const flight = useRef<{ running: boolean; again: boolean; rangeValue: string; lastMs: number; stale: boolean }>({
    running: false, again: false, rangeValue: range, lastMs: 0, stale: false,
  });
  flight.current.rangeValue = range;
  const drawHook = useRef(onDraw);
  drawHook.current = onDraw;

  const load = useCallback(async () => {
    const f = flight.current;
    if (f.running) {
      f.again = true;
      return;
    }
    f.running = true;
    setBusy(true);
    try {
      do {
        f.again = false;
        const { filter, startMs } = rangeFilter(f.rangeValue);
        const started = performance.now();
        try {
          const raw = await store.client.analytics(filter);
          if (f.again) continue; // superseded while in flight: the next round draws
          const queryMs = performance.now() - started;
          f.lastMs = queryMs;
          f.stale = false;
          drawStart.current = performance.now();
          performance.measure?.("peft:analytics", { start: started, end: drawStart.current });
          const report = readReport(raw, { startMs, endMs: Date.now() });
          setDrawn((prev) => ({ report, startNs: filter.start_ns ?? null, renders: (prev?.renders ?? 0) + 1, queryMs, at: Date.now() }));
        } catch (err) {
          notices.fail("Could not load the analytics", err);
          drawHook.current?.({ ok: false, queryMs: performance.now() - started, drawMs: 0, renders: 0 });
        }
      } while (f.again);
    } finally {
      f.running = false;
      setBusy(false);
    }
  }, [store, notices]);

  // Timing of the draw that was just committed (charts draw in their own layout effects, which run first).
  useLayoutEffect(() => {
    if (!drawn) return;
    const drawMs = performance.now() - drawStart.current;
    performance.measure?.("peft:draw", { start: drawStart.current });
    drawHook.current?.({ ok: true, queryMs: drawn.queryMs, drawMs, renders: drawn.renders });
  }, [drawn]);

  useEffect(() => {
    if (!active || hub) return; // a hub has no rules of its own (GET /rules is the service's)
    let live = true;
    store.client.rules().then((raw) => live && setRules(new Map(raw.map((r) => [r.id, r])))).catch(() => {});
    return () => {
      live = false;
    };
  }, [store, active, hub]);

  // Draw when shown, when the range changes, and when the data or the consent changed (here or elsewhere).
  useEffect(() => {
    if (!active) return;
    if (skipFirstLoad.current) {
      skipFirstLoad.current = false; // already drawn from the report the page came with
      return;
    }
    load();
  }, [active, range, version, load]);

  // New rows noticed by the status poll: redraw, but never keep the service busy on our behalf.
  useEffect(() => {
    if (!active || hub) return;
    return store.watch((changed) => {
      const f = flight.current;
      f.stale = f.stale || changed;
      const due = Date.now() - (drawn?.at ?? 0) >= Math.max(MIN_REDRAW_MS, 10 * f.lastMs);
      if (f.stale && due) load();
      else setClock((c) => c + 1); // "Updated … ago" moves on
    });
  }, [store, active, load, drawn, hub]);

  useEffect(() => {
    if (status === null && !hub) store.loadConsent().catch(() => {});
  }, [store, status, hub]);

  const r = drawn?.report ?? null;
  const known = status !== null && !hub;
  const enabled = hub || readStatus(status).enabled;
  const rangeLabel = useMemo(() => RANGES.find((x) => x.value === range)?.label ?? "", [range]);

  async function refresh() {
    if (!hub) await store.refreshStatus().catch(() => {});
    flight.current.stale = true;
    await load();
    notices.announce("Dashboard refreshed.");
  }

  return (
    <section className="view ptu-dashboard" aria-busy={busy || undefined} data-renders={drawn ? String(drawn.renders) : undefined} {...rootProps}>
      <div className="toolbar">
        <div>
          <h1>Usage analytics</h1>
          <p className="subtitle" id="dash-subtitle">
            {hub
              ? "Everything below is computed from what the installs shared with this hub; groups of too few installs are left out."
              : "Everything below is computed from the event log on this computer."}
          </p>
        </div>
        <div className="toolbar-actions">
          <label className="field" htmlFor={rangeId}>
            Time range
            <select id={rangeId} value={range} onChange={(e) => setRange(e.target.value)}>
              {RANGES.map((x) => (
                <option key={x.value} value={x.value}>{x.label}</option>
              ))}
            </select>
          </label>
          <button className="btn" id="refresh-button" type="button" onClick={refresh}>Refresh</button>
          {hub ? null : (
            <ExportLink client={store.client} startNs={drawn?.startNs ?? null} id="dash-export" className="btn btn-primary">Export</ExportLink>
          )}
        </div>
      </div>

      <div id="dash-banner" className="banner banner-info" hidden={!known || enabled}>
        {known && !enabled ? (
          <>
            <strong>Telemetry is off. </strong>
            {r?.totals.events ? "The numbers below were recorded earlier; new activity is not recorded. " : "Nothing is being recorded. "}
            <a href={consentHref}>Turn it on in Privacy</a>.
          </>
        ) : null}
      </div>

      {hub && r?.fleet ? (
        <p className="banner banner-info" id="dash-suppressed">
          {r.fleet.installs === null
            ? `Fewer than ${plural(r.fleet.minInstalls, "install")} shared anything in this period: nothing is shown, so that no number describes a single install.`
            : `Computed over ${plural(r.fleet.installs, "install")}. ${leftOutText(r.fleet.minInstalls, r.fleet.suppressed, DASHBOARD_GROUPS)}`}
        </p>
      ) : null}

      <SummaryCards r={r} />

      <div className="panels">
        <TimePanel r={r} enabled={enabled} allTime={rangeLabel === "All time"} />
        <BreakdownPanel r={r} />
        <ErrorsPanel r={r} />
        <PerformancePanel r={r} />
        <ApiPanel r={r} />
        <RedactionsPanel r={r} rules={rules} />
        {hub ? null : <SystemPanel r={r} /> /* one install's machine: a hub never shows it (the Fleet view has the mix) */}
      </div>
      <p className="updated" id="updated" aria-live="off">
        {drawn ? `Updated ${formatRelative(drawn.at)}. ${hub ? "Refresh for what was shared since." : "New data appears automatically."}` : ""}
      </p>
    </section>
  );
}
