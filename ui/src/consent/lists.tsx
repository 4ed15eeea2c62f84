// "What we collect", "what we never collect" and the event catalog: the promise the consent screen makes,
// each from the code that keeps it (the event log's schema, the anonymizer's rules, the service's catalog).

import type { EventCatalog } from "../client";
import type { RuleGroup } from "../model";
import { Icon } from "../parts";

/** One kind of data the event log keeps (the server's CollectedItem). */
export interface CollectedItem {
  id: string;
  title: string;
  detail: string;
  fields: string[];
}

export function CollectedList({ items }: { items: CollectedItem[] | null }) {
  return (
    <ul className="checklist" id="collect-list">
      {items === null ? <li className="muted">Loading…</li> : null}
      {(items || []).map((c) => (
        <li key={c.id} data-id={c.id}>
          <Icon kind="yes" />
          <span>
            <strong>{c.title}</strong>
            <span className="detail">{c.detail}</span>
            <span className="fields" aria-label="Stored as">
              {c.fields.map((f) => (
                <code key={f} className="field-name">{f}</code>
              ))}
            </span>
          </span>
        </li>
      ))}
    </ul>
  );
}

export function RuleList({ groups }: { groups: RuleGroup[] | null }) {
  return (
    <ul className="checklist" id="never-list">
      {groups === null ? <li className="muted">Loading…</li> : null}
      {(groups || []).map((g) => (
        <li key={g.id} data-group={g.id}>
          <Icon kind={g.removes ? "no" : "trim"} />
          <span>
            <strong>{g.title}</strong>
            <span className="detail">{g.summary}</span>
            <details className="rules">
              <summary>{`${g.rules.length} rule${g.rules.length === 1 ? "" : "s"}`}</summary>
              <ul>
                {g.rules.map((r) => (
                  <li key={r.id} data-rule={r.id}>
                    {r.description}{" "}
                    <span className="marker" title="Replaced by">{r.marker}</span>
                  </li>
                ))}
              </ul>
            </details>
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The events the app may send and their properties (shown only when the service has a catalog). */
export function CatalogSection({ catalog }: { catalog: EventCatalog }) {
  return (
    <section className="card" aria-labelledby="h-catalog" id="catalog">
      <div className="card-head">
        <h2 id="h-catalog">Events this app may send</h2>
        <span className="card-note">{catalog.strict ? "anything else is refused" : "others are allowed too"}</span>
      </div>
      {catalog.events.length === 0 ? <p className="muted small">The catalog lists no events.</p> : null}
      <ul className="catalog">
        {catalog.events.map((e) => (
          <li key={e.name} data-event={e.name}>
            <details>
              <summary>
                <code>{e.name}</code> <span className="detail">{e.description}</span>
              </summary>
              {e.properties.length ? (
                <dl className="facts">
                  {e.properties.map((p) => [
                    <dt key={`${p.name}-t`}><code>{p.name}</code></dt>,
                    <dd key={`${p.name}-d`}>
                      {p.type === "enum" && p.enum ? `one of ${p.enum.join(", ")}` : p.type}
                      {p.description ? ` · ${p.description}` : ""}
                    </dd>,
                  ])}
                </dl>
              ) : (
                <p className="muted small">No properties.</p>
              )}
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
