// @peft-studio/telemetry-ui: React components for PEFT Studio Telemetry.
// The stylesheet is emitted beside the modules as style.css (import "@peft-studio/telemetry-ui/style.css").
import "./styles.css";
export { ApiError, TelemetryClient } from "./client";
export type {
  AnalyticsFilter, ConsentState, EventCatalog, FleetReport, RuleAnswer, ShareDeletion, ShareStatus, StatusAnswer, TelemetryClientOptions,
} from "./client";
export { TelemetryProvider, useTelemetryStore, useStoreSnapshot } from "./context";
export type { ConnectionProps, TelemetryProviderProps } from "./context";
export { TelemetryConsent } from "./consent/TelemetryConsent";
export type { TelemetryConsentProps } from "./consent/TelemetryConsent";
export type { CollectedItem } from "./consent/lists";
export { TelemetryAnalyticsDashboard } from "./dashboard/TelemetryAnalyticsDashboard";
export type { DrawOutcome, TelemetryAnalyticsDashboardProps } from "./dashboard/TelemetryAnalyticsDashboard";
export { TelemetryFleet } from "./fleet/TelemetryFleet";
export type { TelemetryFleetProps } from "./fleet/TelemetryFleet";
export { TelemetryInsights } from "./insights/TelemetryInsights";
export type { TelemetryInsightsProps } from "./insights/TelemetryInsights";
export type * from "./insights/types";
export { NoticeProvider } from "./notices";
export { TelemetryStore } from "./store";
export type { ViewDefinition, ViewProps } from "./views";
export * as format from "./format";
export { readReport, readStatus, readRules } from "./model";
export type { Report, StatusView } from "./model";
