// The page's views, one tab each, in order. A new view (redactions, fleet) is one more entry:
// a component taking ViewProps (src/views.ts), with its tab label and document title.

import { TelemetryConsent } from "../consent/TelemetryConsent";
import type { CollectedItem } from "../consent/lists";
import { TelemetryAnalyticsDashboard } from "../dashboard/TelemetryAnalyticsDashboard";
import { TelemetryInsights } from "../insights/TelemetryInsights";
import type { ViewDefinition, ViewProps } from "../views";

export interface PageData {
  collected: CollectedItem[];
  /** The report streamed into GET /dashboard, if any. */
  report: unknown;
}

export function makeViews(data: PageData): ViewDefinition[] {
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

