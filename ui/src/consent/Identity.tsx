import { useRef, useState } from "react";

import { formatBytes, formatDateTime, formatRelative, plural } from "../format";
import { readHistory, readReport, type HistoryEntry, type StatusView } from "../model";
import { useNotices } from "../notices";
import type { TelemetryStore } from "../store";
import { ExportLink } from "../export";

function storedText(st: StatusView): string {
  const stored = st.stored;
  // Records are every stored span (events, errors, measurements, API requests), not only "events".
  if (stored.events === null) return st.storageError ? `Unavailable right now (${st.storageError})` : "–";
  return `${plural(stored.events, "record")}${stored.metricPoints ? `, ${plural(stored.metricPoints, "metric point")}` : ""}${stored.bytes ? ` · ${formatBytes(stored.bytes)}` : ""}`;
}

function givenText(st: StatusView): string {
  if (!st.consentChangedAt) return "Never given";
  const verb = st.userChoice ? "Given" : "Withdrawn";
  return `${verb} ${formatDateTime(st.consentChangedAt)} (${formatRelative(st.consentChangedAt)})`;
}

function policyText(st: StatusView): string {
  if (st.policyVersion && st.currentPolicyVersion && st.policyVersion !== st.currentPolicyVersion) {
    return `${st.policyVersion} (current policy: ${st.currentPolicyVersion})`;
  }
  return st.policyVersion || st.currentPolicyVersion || "–";
}

/** The anonymous identity and the consent ledger (read when someone opens it). */
export function IdentityCard({ store, st, known }: { store: TelemetryStore; st: StatusView; known: boolean }) {
  const notices = useNotices();
  const [history, setHistory] = useState<HistoryEntry[] | null>(null);

  async function loadHistory() {
    try {
      const raw = await store.client.analytics({});
      setHistory(readHistory(readReport(raw, { startMs: null, endMs: Date.now() }).consentHistory));
    } catch (err) {
      notices.fail("Could not read the consent history", err);
    }
  }

  return (
    <section className="card" aria-labelledby="h-identity">
      <h2 id="h-identity">Your anonymous identity</h2>
      <dl className="facts">
        <dt>Anonymous ID</dt>
        <dd><code id="anon-id">{st.anonymousId || "–"}</code></dd>
        <dt>Consent</dt>
        <dd id="consent-given">{known ? givenText(st) : "–"}</dd>
        <dt>Policy version</dt>
        <dd id="policy-version">{policyText(st)}</dd>
        <dt>Stored on this computer</dt>
        <dd id="stored">{storedText(st)}</dd>
      </dl>
      <details id="history-details" onToggle={(e) => (e.currentTarget as HTMLDetailsElement).open && loadHistory()}>
        <summary>Consent history</summary>
        <ol className="history" id="consent-history">
          {history && history.length === 0 ? <li>No consent changes recorded.</li> : null}
          {(history || []).slice(0, 20).map((e, i) => (
            <li key={`${e.time}-${i}`}>
              <span className={`act-${e.action}`}>{e.action === "granted" ? "Granted" : e.action === "revoked" ? "Withdrawn" : e.action}</span>
              <span>{`${formatDateTime(e.time)} · policy ${e.policyVersion || "–"}${e.source ? ` · via ${e.source}` : ""}`}</span>
            </li>
          ))}
        </ol>
      </details>
    </section>
  );
}

/** Export everything, or erase it all after a confirmation. */
export function DataCard({ store, st }: { store: TelemetryStore; st: StatusView }) {
  const notices = useNotices();
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const stored = st.stored;

  function ask() {
    const d = dialog.current;
    if (!d) return;
    d.returnValue = "";
    d.showModal();
    cancel.current?.focus(); // the safe choice has the focus
  }

  async function closed() {
    if (dialog.current?.returnValue !== "confirm") {
      notices.announce("Nothing was deleted.");
      return;
    }
    try {
      await store.client.deleteData();
      await store.refreshStatus();
      notices.clear();
      notices.announce("All telemetry data was deleted. You have a new anonymous ID.");
      store.changed();
    } catch (err) {
      notices.fail("Could not delete the data", err);
    }
  }

  return (
    <section className="card data-card" aria-labelledby="h-data">
      <h2 id="h-data">Your data</h2>
      <p>
        Download everything that is stored as OpenTelemetry (OTLP) JSON, or erase it all. Erasing also gives you a new
        anonymous ID; your on/off choice stays as it is.
      </p>
      <div className="actions">
        <ExportLink client={store.client} id="export-link" className="btn">Export my data</ExportLink>
        <button className="btn btn-danger" id="delete-button" type="button" onClick={ask}>
          Delete my data…
        </button>
      </div>
      <p className="card-note" id="data-note">
        {stored.events
          ? `The export holds ${plural(stored.events, "record")}${stored.oldest ? ` recorded since ${formatDateTime(stored.oldest)}` : ""}.`
          : "Nothing is stored yet, so an export would be empty."}
      </p>
      <dialog id="delete-dialog" ref={dialog} aria-labelledby="delete-title" aria-describedby="delete-desc" onClose={closed}>
        <form method="dialog">
          <h2 id="delete-title">Delete all telemetry data?</h2>
          <p id="delete-desc">
            This erases every recorded event, error and metric from this computer and gives you a new anonymous ID. It
            cannot be undone. Export first if you want a copy. If you share with your organisation, its hub is asked
            to delete what it received too.
          </p>
          <div className="actions">
            <button className="btn" value="cancel" id="delete-cancel" ref={cancel}>Cancel</button>
            <button className="btn btn-danger-solid" value="confirm" id="delete-confirm">Delete everything</button>
          </div>
        </form>
      </dialog>
    </section>
  );
}
