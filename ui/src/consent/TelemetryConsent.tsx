import { useEffect, useRef, useState, type HTMLAttributes } from "react";

import type { EventCatalog } from "../client";
import { useStoreSnapshot, useTelemetryStore, type ConnectionProps } from "../context";
import { readRules, readStatus, type RuleGroup } from "../model";
import { NoticeScope, useNotices } from "../notices";
import { DataCard, IdentityCard } from "./Identity";
import { CatalogSection, CollectedList, RuleList, type CollectedItem } from "./lists";
import { Preview } from "./Preview";
import { SharingCard } from "./Sharing";

export interface TelemetryConsentProps extends ConnectionProps {
  /** "What we collect": the server's list (the service's own page has it inside the page). */
  collected?: CollectedItem[];
  /** Show the anonymization preview (on by default). */
  preview?: boolean;
  /** Called once, when the first consent state, rules and preview have been drawn. */
  onReady?: () => void;
  /** Attributes for the root element (the page makes it a tab panel). */
  rootProps?: HTMLAttributes<HTMLElement>;
}

/**
 * The consent screen: the on/off switch, what is and is never collected, the event catalog when the
 * service has one, the anonymous identity, export and erase, sharing with the organisation's fleet hub
 * (a second consent, off by default), and a preview of the anonymizer.
 *
 * @example
 * <TelemetryConsent baseUrl="http://127.0.0.1:8000" token={token} />
 */
export function TelemetryConsent(props: TelemetryConsentProps) {
  return (
    <NoticeScope>
      <ConsentView {...props} />
    </NoticeScope>
  );
}

function ConsentView({ collected, preview = true, onReady, rootProps, ...connection }: TelemetryConsentProps) {
  const store = useTelemetryStore(connection);
  const { status } = useStoreSnapshot(store);
  const notices = useNotices();
  const [rules, setRules] = useState<RuleGroup[] | null>(null);
  const [catalog, setCatalog] = useState<EventCatalog | null>(null);
  const [items, setItems] = useState<CollectedItem[] | null>(collected ?? null);
  const [busy, setBusy] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [previewLoaded, setPreviewLoaded] = useState(!preview);
  const ready = useRef(onReady);
  ready.current = onReady;

  useEffect(() => {
    if (loaded && previewLoaded) ready.current?.();
  }, [loaded, previewLoaded]);

  useEffect(() => {
    let live = true;
    const first = Promise.all([
      store.loadConsent().catch((err) => live && notices.fail("Could not read the telemetry status", err)),
      store.client.rules().then((raw) => live && setRules(readRules(raw)))
        .catch((err) => live && notices.fail("Could not read the privacy rules", err)),
      store.client.catalog().then((c) => live && setCatalog(c)).catch(() => {}), // optional: a service may have none
      collected ? null : store.client.collected().then((c) => live && setItems(c)).catch(() => live && setItems([])),
    ]);
    const full = store.refreshStatus().catch((err) => live && notices.fail("Could not read the telemetry status", err));
    Promise.all([first, full]).then(() => live && setLoaded(true));
    const stopWatching = store.watch();
    return () => {
      live = false;
      stopWatching();
    };
    // One load per service; notices are stable.
  }, [store]);

  const st = readStatus(status);
  const known = status !== null;

  async function toggle() {
    // Busy, not disabled: a disabled button loses keyboard focus, and the user would have to find it again.
    if (busy || !known || st.doNotTrack) return;
    const enabled = !st.enabled;
    setBusy(true);
    try {
      await store.client.setConsent(enabled);
      await store.refreshStatus().catch(() => store.loadConsent());
      notices.clear();
      notices.announce(enabled ? "Telemetry is on. Anonymized events are recorded on this computer." : "Telemetry is off. Nothing new is recorded.");
      store.changed();
    } catch (err) {
      notices.fail(enabled ? "Could not turn telemetry on" : "Could not turn telemetry off", err);
    } finally {
      setBusy(false);
    }
  }

  let stateText = "Loading…";
  if (known && st.doNotTrack) stateText = "Off: DO_NOT_TRACK is set on this computer, which overrides this switch.";
  else if (known && st.enabled) stateText = "On: anonymized events are recorded on this computer.";
  else if (known) stateText = "Off: nothing is recorded.";

  return (
    <section className="view ptu-consent" {...rootProps}>
      <div className="card hero">
        <div>
          <h1>Usage telemetry</h1>
          <p className="lede">
            Help improve PEFT Studio by sharing anonymous usage data: which features you use, errors and timings. It is
            off until you turn it on, it is anonymized before it is written, and it stays in one file on this computer
            unless you also choose to share it with your organisation (below).
          </p>
        </div>
        <button
          id="consent-switch"
          className="switch"
          type="button"
          role="switch"
          aria-checked={st.enabled}
          aria-labelledby="consent-label"
          aria-describedby="consent-state"
          // aria-disabled rather than disabled: the switch stays focusable and its explanation readable.
          aria-disabled={!known || st.doNotTrack}
          aria-busy={busy || undefined}
          onClick={toggle}
        >
          <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
          <span>
            <span id="consent-label">Share anonymous usage data</span>
            <span className="switch-state" id="consent-state">{stateText}</span>
          </span>
        </button>
      </div>

      <div className="grid-2">
        <section className="card" aria-labelledby="h-collect">
          <h2 id="h-collect">What we collect</h2>
          <CollectedList items={collected ?? items} />
        </section>
        <section className="card" aria-labelledby="h-never">
          <h2 id="h-never">What we never collect</h2>
          <RuleList groups={rules} />
        </section>
      </div>

      {catalog ? <CatalogSection catalog={catalog} /> : null}

      <div className="grid-2">
        <IdentityCard store={store} st={st} known={known} />
        <DataCard store={store} st={st} />
      </div>

      <SharingCard store={store} st={st} known={known} />

      {preview ? <Preview client={store.client} onLoaded={() => setPreviewLoaded(true)} /> : null}
    </section>
  );
}
