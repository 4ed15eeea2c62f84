// The REST API under /api/telemetry, seen from the browser. On the service's own page requests are
// same-origin and the access token travels as an HttpOnly cookie the page cannot read; a host app passes
// the token and the client sends it as the `x-peft-token` header.

import type { InsightsFilter, InsightsReport } from "./insights/types";

/** What went wrong with a call: the HTTP status (0 when the service was not reached) and the server's words. */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  /** The service refused us for lack of the access token (401) or for a wrong one (403). */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }

  /** The service did not answer at all (not running, wrong address). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

export interface TelemetryClientOptions {
  /** Where the service is, e.g. "http://127.0.0.1:8000". Empty (the default): the page's own origin and path. */
  baseUrl?: string;
  /** The per-install access token (`peft-telemetry serve` prints it); sent as the `x-peft-token` header. */
  token?: string;
  /** A fetch implementation (tests, custom transports); the global fetch by default. */
  fetch?: typeof fetch;
}

/** GET /consent. */
export interface ConsentState {
  enabled: boolean;
  user_choice?: boolean | null;
  do_not_track?: boolean;
  reason?: string;
  anonymous_user_id?: string | null;
  consent_changed_at?: string | null;
  consented_policy_version?: string | null;
  policy_version?: string;
  [key: string]: unknown;
}

/** GET /status: the consent state and what the event log holds. */
export interface StatusAnswer {
  consent: ConsentState;
  event_log?: Record<string, unknown> | null;
  event_log_error?: string | null;
  [key: string]: unknown;
}

export interface RuleAnswer {
  id: string;
  description: string;
  marker: string;
  kind?: string;
}

/** GET /catalog (the event catalog: which events and properties the app may send). */
export interface EventCatalog {
  strict: boolean;
  events: {
    name: string;
    description: string;
    properties: {
      name: string;
      type: "string" | "integer" | "number" | "boolean" | "enum";
      description: string;
      enum: string[] | null;
    }[];
  }[];
}

/** POST /analytics filters; times in nanoseconds since the epoch. */
export interface AnalyticsFilter {
  start_ns?: number;
  end_ns?: number;
  [key: string]: unknown;
}

/** A deletion of shared data the hub confirmed (GET /share, `confirmed_deletions`). */
export interface ShareDeletion {
  /** The install id the hub had stored the shared records under (not the anonymous ID). */
  install_id: string;
  removed_rows: number;
  confirmed_ns: number;
}

/** GET, POST and DELETE /share: sharing with the organisation's fleet hub (telemetry/sharing.py). */
export interface ShareStatus {
  /** Sharing now: agreed to, and local recording is on. */
  sharing: boolean;
  agreed: boolean;
  recording: boolean;
  /** The hub's URL with its credential masked, as the service shows it; null before the first agreement. */
  endpoint: string | null;
  /** When the sharing choice last changed (ISO 8601). */
  changed_at: string | null;
  /** Only spans recorded after this (ns since the epoch) are shared. */
  since_ns: number | null;
  install_id: string | null;
  sent_spans: number;
  sent_batches: number;
  refused_spans: number;
  last_sent_ns: number | null;
  pending_deletions: number;
  confirmed_deletions: ShareDeletion[];
}

/** GET /fleet on a hub: the fleet report (analytics/fleet/reports.py), groups under min_installs left out. */
export interface FleetReport {
  report: "fleet";
  min_installs: number;
  /** The whole fleet, or null while it has fewer than min_installs installs. */
  totals: { events: number; installs: number; sessions: number; errors: number; first_ns: number | null; last_ns: number | null } | null;
  versions: { app_version: string | null; installs: number; events: number }[];
  os_mix: { os_type: string | null; installs: number; events: number }[];
  /** One row per day ("YYYY-MM-DD", UTC). */
  daily_installs: { day: string; installs: number; events: number }[];
  /** Per section, how many groups were left out for having fewer than min_installs installs. */
  suppressed: Record<string, number>;
}

const PREFIX = "api/telemetry/";

/**
 * A small typed client of the telemetry service's REST API.
 *
 * @example
 * const client = new TelemetryClient({ baseUrl: "http://127.0.0.1:8000", token });
 * await client.setConsent(true);
 * const report = await client.analytics({});
 */
export class TelemetryClient {
  readonly baseUrl: string;
  readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: TelemetryClientOptions = {}) {
    const base = options.baseUrl ?? "";
    this.baseUrl = base && !base.endsWith("/") ? `${base}/` : base;
    this.token = options.token || undefined;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The absolute or page-relative URL of an endpoint. */
  url(path: string): string {
    return `${this.baseUrl}${PREFIX}${path}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { Accept: "application/json", ...extra };
    if (this.token) headers["x-peft-token"] = this.token;
    return headers;
  }

  /** Call an endpoint; JSON in, JSON out. Rejects with an ApiError carrying the server's explanation. */
  async request<T>(path: string, { method = "GET", body }: { method?: string; body?: unknown } = {}): Promise<T> {
    const init: RequestInit = {
      method,
      credentials: this.token ? "omit" : "same-origin",
      cache: "no-store",
      headers: this.headers(body === undefined ? {} : { "Content-Type": "application/json" }),
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path), init);
    } catch {
      throw new ApiError(0, "The telemetry service is not reachable. Is it still running?");
    }
    if (!res.ok) throw new ApiError(res.status, await explain(res));
    if (res.status === 204) return null as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  consent(): Promise<ConsentState> {
    return this.request("consent");
  }

  setConsent(enabled: boolean): Promise<ConsentState> {
    return this.request("consent", { method: "POST", body: { enabled } });
  }

  status(): Promise<StatusAnswer> {
    return this.request("status");
  }

  rules(): Promise<RuleAnswer[]> {
    return this.request("rules");
  }

  /** The event catalog, or null when this service has none (404). */
  async catalog(): Promise<EventCatalog | null> {
    try {
      return await this.request<EventCatalog>("catalog");
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** What the event log keeps, kind by kind, with the stored fields that hold it. */
  collected(): Promise<{ id: string; title: string; detail: string; fields: string[] }[]> {
    return this.request("collected");
  }

  analytics(filter: AnalyticsFilter = {}): Promise<unknown> {
    return this.request("analytics", { method: "POST", body: filter });
  }

  /** POST /insights: trends, anomalies, regressions, heatmap and experiments (token-protected). */
  insights(filter: InsightsFilter = {}): Promise<InsightsReport> {
    return this.request("insights", { method: "POST", body: filter });
  }

  /** GET /share: whether this install shares with a fleet hub, where to, since when and how much. */
  sharing(): Promise<ShareStatus> {
    return this.request("share");
  }

  /** POST /share: agree to share, from now on, with the hub at `endpoint` (422 while recording is off). */
  share(endpoint: string): Promise<ShareStatus> {
    return this.request("share", { method: "POST", body: { endpoint } });
  }

  /** DELETE /share: stop sharing; `deleteShared` also asks the hub to delete what was shared. */
  stopSharing(deleteShared = false): Promise<ShareStatus> {
    return this.request(`share${deleteShared ? "?delete=true" : ""}`, { method: "DELETE" });
  }

  /** GET /fleet (on a fleet hub): installs, app versions, OS mix and daily installs, k-anonymous. */
  fleet(): Promise<FleetReport> {
    return this.request("fleet");
  }

  preview(event: unknown): Promise<unknown> {
    return this.request("preview", { method: "POST", body: event });
  }

  deleteData(): Promise<unknown> {
    return this.request("data", { method: "DELETE" });
  }

  /** The export URL, optionally limited to a time range (nanoseconds). */
  exportUrl(startNs?: number | null, endNs?: number | null): string {
    const q = new URLSearchParams();
    if (startNs) q.set("start_ns", String(startNs));
    if (endNs) q.set("end_ns", String(endNs));
    const qs = q.toString();
    return this.url(`export${qs ? `?${qs}` : ""}`);
  }

  /**
   * The export as a file: with a token it cannot be a plain link (a link carries no header), so the
   * client fetches it and hands the browser the bytes.
   */
  async exportBlob(startNs?: number | null, endNs?: number | null): Promise<{ blob: Blob; filename: string }> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.exportUrl(startNs, endNs), {
        credentials: this.token ? "omit" : "same-origin",
        cache: "no-store",
        headers: this.headers({ Accept: "application/x-ndjson, application/json" }),
      });
    } catch {
      throw new ApiError(0, "The telemetry service is not reachable. Is it still running?");
    }
    if (!res.ok) throw new ApiError(res.status, await explain(res));
    const disposition = res.headers.get("content-disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    return { blob: await res.blob(), filename: match ? match[1] : "telemetry-export.jsonl" };
  }
}

async function explain(res: Response): Promise<string> {
  try {
    const payload = await res.json();
    const detail = typeof payload.detail === "string" ? payload.detail : typeof payload.message === "string" ? payload.message : "";
    if (detail) return detail;
  } catch {
    // not JSON: the status line says enough
  }
  return `${res.status} ${res.statusText}`.trim();
}
