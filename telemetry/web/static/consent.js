// The consent screen: the switch, what is and is never collected (from the anonymizer's own rules),
// the anonymous identity and consent ledger, export/delete, and the anonymization preview.

import { api } from "./api.js";
import { h } from "./charts.js";
import { formatBytes, formatDateTime, formatNumber, formatRelative, plural } from "./format.js";
import { readPreview, readStatus } from "./model.js";

const $ = (id) => document.getElementById(id);

const ICON_YES = "M5 10.5l3.2 3.2L15 7";
const ICON_NO = "M6 6l8 8M14 6l-8 8";
const ICON_TRIM = "M5 10h10";

function icon(path, cls) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("class", `icon ${cls}`);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
  p.setAttribute("d", path);
  p.setAttribute("fill", "none");
  p.setAttribute("stroke", "currentColor");
  p.setAttribute("stroke-width", "2");
  p.setAttribute("stroke-linecap", "round");
  p.setAttribute("stroke-linejoin", "round");
  svg.append(p);
  return svg;
}

/** Show the consent state on the switch and the identity card. */
export function renderConsent(raw) {
  const st = readStatus(raw);
  const sw = $("consent-switch");
  sw.setAttribute("aria-checked", String(st.enabled));
  // aria-disabled rather than disabled: the switch stays focusable and its explanation stays readable.
  sw.setAttribute("aria-disabled", String(st.doNotTrack));
  let text;
  if (st.doNotTrack) text = "Off: DO_NOT_TRACK is set on this computer, which overrides this switch.";
  else if (st.enabled) text = "On: anonymized events are recorded on this computer.";
  else text = "Off: nothing is recorded.";
  $("consent-state").textContent = text;

  $("anon-id").textContent = st.anonymousId || "–";
  const changed = st.consentChangedAt;
  if (changed) {
    const verb = st.userChoice ? "Given" : "Withdrawn";
    $("consent-given").textContent = `${verb} ${formatDateTime(changed)} (${formatRelative(changed)})`;
  } else {
    $("consent-given").textContent = "Never given";
  }
  const pv = $("policy-version");
  pv.textContent = st.policyVersion || st.currentPolicyVersion || "–";
  if (st.policyVersion && st.currentPolicyVersion && st.policyVersion !== st.currentPolicyVersion) {
    pv.textContent = `${st.policyVersion} (current policy: ${st.currentPolicyVersion})`;
  }
  const stored = st.stored;
  // Records are every stored span (events, errors, measurements, API requests), not only "events".
  $("stored").textContent = stored.events === null
    ? st.storageError ? `Unavailable right now (${st.storageError})` : "–"
    : `${plural(stored.events, "record")}${stored.metricPoints ? `, ${plural(stored.metricPoints, "metric point")}` : ""}${stored.bytes ? ` · ${formatBytes(stored.bytes)}` : ""}`;
  $("data-note").textContent = stored.events
    ? `The export holds ${plural(stored.events, "record")}${stored.oldest ? ` recorded since ${formatDateTime(stored.oldest)}` : ""}.`
    : "Nothing is stored yet, so an export would be empty.";
}

/** The consent ledger: every granted / withdrawn, newest first. */
export function renderHistory(history) {
  const list = $("consent-history");
  if (!history || history.length === 0) {
    list.replaceChildren(h("li", {}, "No consent changes recorded."));
    return;
  }
  list.replaceChildren(
    ...history.slice(0, 20).map((e) =>
      h("li", {},
        h("span", { class: `act-${e.action}` }, e.action === "granted" ? "Granted" : e.action === "revoked" ? "Withdrawn" : e.action),
        h("span", {}, `${formatDateTime(e.time)} · policy ${e.policyVersion || "–"}${e.source ? ` · via ${e.source}` : ""}`))),
  );
}

/** "What we collect": generated on the server from the event log's schema, embedded in the page. */
export function renderCollected() {
  let items = [];
  try {
    items = JSON.parse($("collected-data").textContent || "[]");
  } catch {
    items = [];
  }
  $("collect-list").replaceChildren(
    ...items.map((c) =>
      h("li", { "data-id": c.id }, icon(ICON_YES, "icon-yes"),
        h("span", {}, h("strong", {}, c.title), h("span", { class: "detail" }, c.detail),
          h("span", { class: "fields", "aria-label": "Stored as" }, ...c.fields.map((f) => h("code", { class: "field-name" }, f)))))),
  );
}

/** "What we never collect": the anonymizer's own rules (GET /rules), grouped, every rule listed. */
export function renderRules(groups) {
  const never = $("never-list");
  never.replaceChildren(
    ...groups.map((g) =>
      h("li", { "data-group": g.id }, icon(g.removes ? ICON_NO : ICON_TRIM, g.removes ? "icon-no" : "icon-trim"),
        h("span", {},
          h("strong", {}, g.title),
          h("span", { class: "detail" }, g.summary),
          h("details", { class: "rules" },
            h("summary", {}, `${g.rules.length} rule${g.rules.length === 1 ? "" : "s"}`),
            h("ul", {}, ...g.rules.map((r) =>
              h("li", { "data-rule": r.id }, r.description, " ", h("span", { class: "marker", title: "Replaced by" }, r.marker)))))))),
  );
}

// ---- preview -------------------------------------------------------------------------------------

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

export async function loadPreview() {
  const input = $("preview-input");
  if (!input.value) input.value = JSON.stringify(EXAMPLE_EVENT, null, 2);
  showPreview(await api("preview", { method: "POST", body: JSON.parse(input.value) }));
}

function showPreview(data) {
  const event = readPreview(data);
  $("preview-output").textContent = JSON.stringify(event.stored, null, 2);
  const entries = Object.entries(event.redactions).filter(([, n]) => n > 0);
  $("preview-redactions").replaceChildren(
    ...(entries.length
      ? entries.map(([rule, n]) => h("li", { class: "chip", title: `rule ${rule}` }, `${rule} × ${formatNumber(n)}`))
      : [h("li", { class: "muted small" }, "none: nothing in this event needed anonymizing.")]),
  );
}

export async function runPreview(announce) {
  const input = $("preview-input");
  let event;
  try {
    event = JSON.parse(input.value);
  } catch {
    input.setAttribute("aria-invalid", "true");
    announce("The example is not valid JSON. Check quotes and commas.", true);
    return;
  }
  input.removeAttribute("aria-invalid");
  try {
    showPreview(await api("preview", { method: "POST", body: event }));
    announce("Preview updated.");
  } catch (err) {
    announce(`Preview failed: ${err.message}`, true);
  }
}
