import { useEffect, useState } from "react";

import type { TelemetryClient } from "../client";
import { formatNumber } from "../format";
import { readPreview, type PreviewView } from "../model";
import { useNotices } from "../notices";

/** A realistic event with the kind of things people paste by accident: nothing here is real. */
export const EXAMPLE_EVENT = {
  event_type: "training_started",
  properties: {
    algorithm: "lora",
    model_name: "llama-2-7b",
    lora_r: 16,
    learning_rate: 0.0002,
    dataset_path: "/home/alice/datasets/support_tickets.jsonl",
    user_email: "alice@example.com",
    hf_token: "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567",
    note: "started by alice@example.com from 192.168.1.23",
  },
};

/** One event as the app would send it and exactly what would be stored; a preview records nothing. */
export function Preview({ client, onLoaded }: { client: TelemetryClient; onLoaded?: () => void }) {
  const notices = useNotices();
  const [input, setInput] = useState(() => JSON.stringify(EXAMPLE_EVENT, null, 2));
  const [invalid, setInvalid] = useState(false);
  const [result, setResult] = useState<PreviewView | null>(null);

  useEffect(() => {
    let live = true;
    client
      .preview(EXAMPLE_EVENT)
      .then((raw) => live && setResult(readPreview(raw)))
      .catch((err) => live && notices.fail("Could not load the preview", err))
      .finally(() => live && onLoaded?.());
    return () => {
      live = false;
    };
    // The example is previewed once, when the view first appears.
  }, [client]);

  async function run() {
    let event: unknown;
    try {
      event = JSON.parse(input);
    } catch {
      setInvalid(true);
      notices.announce("The example is not valid JSON. Check quotes and commas.", true);
      return;
    }
    setInvalid(false);
    try {
      setResult(readPreview(await client.preview(event)));
      notices.announce("Preview updated.");
    } catch (err) {
      notices.fail("Preview failed", err);
    }
  }

  const fired = result ? Object.entries(result.redactions).filter(([, n]) => n > 0) : [];
  return (
    <section className="card" aria-labelledby="h-preview">
      <div className="card-head">
        <h2 id="h-preview">Preview: one event after anonymization</h2>
      </div>
      <p className="muted small">
        An event as the app would send it, and exactly what would be stored. Edit the example to try your own; a
        preview records nothing.
      </p>
      <div className="preview-grid">
        <div>
          <label htmlFor="preview-input">Event as sent</label>
          <textarea
            id="preview-input"
            spellCheck={false}
            autoComplete="off"
            value={input}
            aria-invalid={invalid || undefined}
            onChange={(e) => setInput(e.target.value)}
          />
        </div>
        <div>
          <span className="label" id="preview-output-label">As stored</span>
          <pre className="code" id="preview-output" tabIndex={0} aria-labelledby="preview-output-label" aria-live="polite">
            {result ? JSON.stringify(result.stored, null, 2) : "–"}
          </pre>
        </div>
      </div>
      <div className="preview-actions">
        <button className="btn btn-primary" id="preview-button" type="button" onClick={run}>
          Preview
        </button>
        <span className="muted small" id="fired-label">Rules that fired:</span>
        <ul className="chips" id="preview-redactions" aria-labelledby="fired-label">
          {result && fired.length === 0 ? <li className="muted small">none: nothing in this event needed anonymizing.</li> : null}
          {fired.map(([rule, n]) => (
            <li key={rule} className="chip" title={`rule ${rule}`}>{`${rule} × ${formatNumber(n)}`}</li>
          ))}
        </ul>
      </div>
    </section>
  );
}
