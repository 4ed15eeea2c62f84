// "Share with your organisation": the second consent (telemetry/sharing.py), separate from recording.
// Off by default and possible only while recording is on; turning recording off also stops it. While it
// is on, the card says where to (the hub's URL with its credential masked, as the service gives it),
// since when and how much was sent; stopping can also ask the hub to delete what it received.

import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from "react";

import type { ShareStatus } from "../client";
import { formatDateTime, formatRelative, plural } from "../format";
import type { StatusView } from "../model";
import { useNotices } from "../notices";
import type { TelemetryStore } from "../store";

function sentText(s: ShareStatus): string {
  if (!s.sent_spans) return "Nothing yet: records are sent in batches a few seconds after they are recorded.";
  const last = s.last_sent_ns ? `, last ${formatRelative(s.last_sent_ns)}` : "";
  return `${plural(s.sent_spans, "record")} in ${plural(s.sent_batches, "batch", "batches")}${last}`;
}

function deletionText(s: ShareStatus): string | null {
  const parts: string[] = [];
  if (s.pending_deletions) parts.push(`${plural(s.pending_deletions, "deletion")} requested, waiting for the hub to confirm (retried while the service runs)`);
  for (const c of s.confirmed_deletions.slice(-3)) {
    parts.push(`The hub confirmed deleting ${plural(c.removed_rows, "record")} on ${formatDateTime(c.confirmed_ns)}`);
  }
  return parts.length ? parts.join(". ") + "." : null;
}

/** The sharing card of the consent page; `st` is the recording state it depends on. */
export function SharingCard({ store, st, known }: { store: TelemetryStore; st: StatusView; known: boolean }) {
  const notices = useNotices();
  const inputId = useId();
  const [share, setShare] = useState<ShareStatus | null>(null);
  const [unreadable, setUnreadable] = useState<string | null>(null);
  const [endpoint, setEndpoint] = useState("");
  const [busy, setBusy] = useState(false);
  const [alsoDelete, setAlsoDelete] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLInputElement>(null);

  const load = useCallback(() => store.client.sharing().then(
    (answer) => {
      setShare(answer);
      setUnreadable(null);
    },
    (err: unknown) => setUnreadable(err instanceof Error ? err.message : String(err)),
  ), [store]);

  // Read it again when recording switches (turning recording off stops sharing), and on every status
  // poll while there is something that moves: batches being sent, a deletion waiting for the hub.
  useEffect(() => {
    if (known) load();
  }, [load, known, st.enabled]);
  const moving = !!share && (share.sharing || share.pending_deletions > 0);
  useEffect(() => (moving ? store.watch(() => { load(); }) : undefined), [store, load, moving]);

  const sharing = !!share?.sharing;
  const recording = known && st.enabled;
  const offered = recording && !!share; // sharing needs recording, and the card needs the service's answer

  async function start(e?: FormEvent) {
    e?.preventDefault();
    if (busy || !offered || sharing) return;
    const url = endpoint.trim();
    if (!url) {
      notices.announce("Enter the hub address first: the URL that `peft-telemetry hub` printed.", true);
      input.current?.focus();
      return;
    }
    setBusy(true);
    try {
      setShare(await store.client.share(url));
      setEndpoint("");
      notices.clear();
      notices.announce("Sharing is on. Anonymized records recorded from now on are sent to your organisation's hub.");
    } catch (err) {
      notices.fail("Could not start sharing", err);
    } finally {
      setBusy(false);
    }
  }

  function askStop() {
    const d = dialog.current;
    if (!d || busy) return;
    d.returnValue = "";
    setAlsoDelete(false);
    d.showModal();
    cancel.current?.focus(); // the safe choice has the focus
  }

  async function stopClosed() {
    if (dialog.current?.returnValue !== "stop") return;
    setBusy(true);
    try {
      setShare(await store.client.stopSharing(alsoDelete));
      notices.clear();
      notices.announce(alsoDelete
        ? "Sharing is off. The hub was asked to delete what it received; its confirmation shows here."
        : "Sharing is off. Nothing more is sent; recording on this computer goes on.");
    } catch (err) {
      notices.fail("Could not stop sharing", err);
    } finally {
      setBusy(false);
    }
  }

  function toggle() {
    if (sharing) askStop();
    else if (offered) start();
  }

  let stateText = "Loading…";
  if (known && !recording) stateText = "Off: sharing is possible only while recording is on (above).";
  else if (!share && unreadable) stateText = `Unavailable right now (${unreadable}).`;
  else if (sharing) stateText = `On: sending to ${share?.endpoint ?? "your organisation's hub"}`; // the masked URL ends in "…"
  else if (share) stateText = "Off: nothing leaves this computer.";
  const deletions = share ? deletionText(share) : null;

  return (
    <section className="card share-card" id="share-card" aria-labelledby="h-share">
      <div className="share-head">
        <div>
          <h2 id="h-share">Share with your organisation</h2>
          <p className="card-note">A separate choice from recording, off until you turn it on.</p>
          <ul className="share-points">
            <li><strong>What:</strong> the same anonymized records stored here (the ones an export holds), only those recorded after you turn sharing on.</li>
            <li><strong>To whom:</strong> your organisation's telemetry hub at the address you enter. It keeps them under a random install ID, not your anonymous ID, and shows them only in groups of several installs.</li>
            <li><strong>Stopping:</strong> turn it off here at any time (turning recording off stops it too), and ask the hub to delete everything this computer shared.</li>
          </ul>
        </div>
        <button
          id="share-switch"
          className="switch"
          type="button"
          role="switch"
          aria-checked={sharing}
          aria-labelledby="share-label"
          aria-describedby="share-state"
          aria-disabled={!offered}
          aria-busy={busy || undefined}
          onClick={toggle}
        >
          <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
          <span>
            <span id="share-label">Share with your organisation</span>
            <span className="switch-state" id="share-state">{stateText}</span>
          </span>
        </button>
      </div>

      {offered && !sharing ? (
        <form className="share-form" onSubmit={start}>
          <label htmlFor={inputId}>Hub address</label>
          <input
            id={inputId}
            ref={input}
            className="share-endpoint"
            type="url"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            placeholder="http://<hub>:4318/fleet/<token>"
            aria-describedby="share-hint"
            value={endpoint}
            onChange={(e) => setEndpoint(e.target.value)}
          />
          <button className="btn btn-primary" id="share-start" type="submit" aria-busy={busy || undefined}>Start sharing</button>
          <p className="card-note" id="share-hint">The URL that <code>peft-telemetry hub</code> printed; your administrator has it.</p>
        </form>
      ) : null}

      {share && (sharing || share.sent_spans > 0 || deletions) ? (
        <dl className="facts share-facts">
          <dt>Shared with</dt>
          <dd><code id="share-endpoint">{share.endpoint ?? "–"}</code></dd>
          <dt>{sharing ? "Since" : "Last change"}</dt>
          <dd id="share-since">{share.changed_at ? `${formatDateTime(share.changed_at)} (${formatRelative(share.changed_at)})` : "–"}</dd>
          <dt>Sent</dt>
          <dd id="share-sent">{sentText(share)}{share.refused_spans ? ` (${plural(share.refused_spans, "record")} refused by the hub)` : ""}</dd>
          {deletions ? (<><dt>Deletion</dt><dd id="share-deletions">{deletions}</dd></>) : null}
        </dl>
      ) : null}

      {sharing ? (
        <div className="actions share-actions">
          <button className="btn btn-danger" id="share-stop" type="button" onClick={askStop}>Stop sharing…</button>
        </div>
      ) : null}

      <dialog id="share-dialog" ref={dialog} aria-labelledby="share-stop-title" aria-describedby="share-stop-desc" onClose={stopClosed}>
        <form method="dialog">
          <h2 id="share-stop-title">Stop sharing with your organisation?</h2>
          <p id="share-stop-desc">
            Nothing more is sent from the next batch on. Recording on this computer goes on. The hub keeps what it
            already received unless you ask it to delete it.
          </p>
          <label className="check">
            <input type="checkbox" id="share-delete" checked={alsoDelete} onChange={(e) => setAlsoDelete(e.target.checked)} />
            Also ask the hub to delete everything this computer shared
          </label>
          <div className="actions">
            <button className="btn" value="cancel" id="share-cancel" ref={cancel}>Cancel</button>
            <button className="btn btn-danger-solid" value="stop" id="share-confirm">Stop sharing</button>
          </div>
        </form>
      </dialog>
    </section>
  );
}
