// The page's views, one tab each, in order. A new view (redactions, fleet) is one more entry:
// a component taking ViewProps (src/views.ts), with its tab label and document title.

import { TelemetryConsent } from "../consent/TelemetryConsent";
import type { CollectedItem } from "../consent/lists";
import { TelemetryAnalyticsDashboard } from "../dashboard/TelemetryAnalyticsDashboard";
import { TelemetryFleet } from "../fleet/TelemetryFleet";
import { TelemetryInsights } from "../insights/TelemetryInsights";
import type { ViewDefinition, ViewProps } from "../views";

/** Which server sent the page: an install's `peft-telemetry serve`, or a fleet hub (contract C1). */
export interface PageKind {
  kind: "install" | "hub";
  hub_id?: string;
  min_installs?: number;
}

/** The page-kind block as sent, or an install's page when there is none or it is not understood. */
export function readPageKind(raw: unknown): PageKind {
  const o = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  if (o.kind !== "hub") return { kind: "install" };
  return {
    kind: "hub",
    hub_id: typeof o.hub_id === "string" ? o.hub_id : undefined,
    min_installs: typeof o.min_installs === "number" ? o.min_installs : undefined,
  };
}

export interface PageData {
  kind: PageKind;
  collected: CollectedItem[];
  /** The report streamed into GET /dashboard, if any. */
  report: unknown;
}

/** A hub's page: the fleet first, then the dashboard and insights over the lake; no consent of its own. */
function hubViews(): ViewDefinition[] {
  return [
    {
      id: "fleet",
      label: "Fleet",
      title: "Fleet",
      component: ({ rootProps, active, onReady }: ViewProps) => <TelemetryFleet rootProps={rootProps} active={active} onDraw={onReady} />,
    },
    {
      id: "dashboard",
      label: "Dashboard",
      title: "Dashboard",
      component: ({ rootProps, active, onReady }: ViewProps) => (
        <TelemetryAnalyticsDashboard hub rootProps={rootProps} active={active} onDraw={onReady} />
      ),
    },
    {
      id: "insights",
      label: "Insights",
      title: "Insights",
      component: ({ rootProps, active, onReady }: ViewProps) => (
        <TelemetryInsights hub rootProps={rootProps} active={active} onDraw={onReady} />
      ),
    },
  ];
}

export function makeViews(data: PageData): ViewDefinition[] {
  if (data.kind.kind === "hub") return hubViews();
  return [
    {
      id: "consent",
      label: "Privacy",
      title: "Privacy",
      component: ({ rootProps, onReady }: ViewProps) => (
        <TelemetryConsent collected={data.collected} rootProps={rootProps} onReady={onReady} />
      ),
    },
    {
      id: "dashboard",
      label: "Dashboard",
      title: "Dashboard",
      component: ({ rootProps, active, onReady }: ViewProps) => (
        <TelemetryAnalyticsDashboard initialReport={data.report} rootProps={rootProps} active={active} onDraw={onReady} />
      ),
    },
    {
      id: "insights",
      label: "Insights",
      title: "Insights",
      component: ({ rootProps, active, onReady }: ViewProps) => (
        <TelemetryInsights rootProps={rootProps} active={active} onDraw={onReady} />
      ),
    },
  ];
}

