// The consent state, in one place: every part of the UI that shows it (the switch, the page's pill, the
// dashboard's "telemetry is off" banner) reads it from here and is redrawn when it changes. `version`
// counts changes to the stored data (consent switched, data erased), so views that show data reload.

import type { StatusAnswer, TelemetryClient } from "./client";
import { readStatus } from "./model";

type Listener = () => void;

const POLL_MS = 5000;

export interface StoreSnapshot {
  /** The last status seen (GET /status, or GET /consent merged into it); null before the first answer. */
  status: StatusAnswer | null;
  /** Bumped whenever the stored data or the consent changed. */
  version: number;
}

/** Shared by the components under one TelemetryProvider (or owned by one component without a provider). */
export class TelemetryStore {
  private snapshot: StoreSnapshot = { status: null, version: 0 };
  private readonly listeners = new Set<Listener>();
  private statusKey = "";
  private channel: BroadcastChannel | null = null;

  constructor(readonly client: TelemetryClient) {}

  /**
   * Hear about changes made in other tabs of the same app, until the returned function is called (an
   * effect's cleanup: connecting again after it is fine, as React's strict mode does).
   */
  connect(): () => void {
    if (typeof BroadcastChannel !== "function") return () => {};
    const channel = new BroadcastChannel(`peft-telemetry:${this.client.baseUrl}`);
    channel.addEventListener("message", () => {
      this.refreshStatus().catch(() => {});
      this.bump();
    });
    this.channel = channel;
    return () => {
      channel.close();
      if (this.channel === channel) this.channel = null;
    };
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): StoreSnapshot => this.snapshot;

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  /** Merge an answer in (a consent-only answer keeps what the last full status said about storage). */
  applyStatus(raw: Partial<StatusAnswer>): void {
    const status = { ...(this.snapshot.status || {}), ...raw } as StatusAnswer;
    this.snapshot = { ...this.snapshot, status };
    this.emit();
  }

  /** GET /consent (public, instant). */
  async loadConsent(): Promise<void> {
    const consent = await this.client.consent();
    this.applyStatus({ consent });
  }

  /** GET /status; true when the consent or the stored data changed since the last look. */
  async refreshStatus(): Promise<boolean> {
    const raw = await this.client.status();
    const st = readStatus(raw);
    const key = `${st.enabled}|${st.anonymousId}|${st.stored.events}|${st.stored.newest}|${st.stored.metricPoints}`;
    const changed = key !== this.statusKey;
    this.statusKey = key;
    this.applyStatus(raw);
    return changed;
  }

  private watchers = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly onPoll = new Set<(changed: boolean) => void>();

  /**
   * Re-read the status every few seconds while someone watches (one timer for all watchers), so a change
   * made elsewhere (the CLI, the app) shows. `onPoll` hears whether the stored data changed.
   */
  watch(onPoll?: (changed: boolean) => void): () => void {
    this.watchers += 1;
    if (onPoll) this.onPoll.add(onPoll);
    if (this.timer === null) this.timer = setTimeout(this.poll, POLL_MS);
    return () => {
      this.watchers -= 1;
      if (onPoll) this.onPoll.delete(onPoll);
      if (this.watchers === 0 && this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
      }
    };
  }

  private poll = async (): Promise<void> => {
    if (typeof document === "undefined" || document.visibilityState === "visible") {
      try {
        const changed = await this.refreshStatus();
        for (const listener of this.onPoll) listener(changed);
      } catch {
        // The next poll tries again; a failing poll must not flood the user with alerts.
      }
    }
    if (this.watchers > 0) this.timer = setTimeout(this.poll, POLL_MS);
    else this.timer = null;
  };

  /** The data or the consent changed here: redraw what shows data, and tell the other tabs. */
  changed(): void {
    this.bump();
    this.channel?.postMessage({ type: "changed" });
  }

  private bump(): void {
    this.snapshot = { ...this.snapshot, version: this.snapshot.version + 1 };
    this.emit();
  }
}
