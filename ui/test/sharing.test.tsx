// "Share with your organisation" on the consent page, against a real `peft-telemetry serve` and a real
// `peft-telemetry hub`: offered only while recording is on, a bad address is refused and changes nothing,
// the card shows where to (credential masked), since when and how much the service says it sent, and
// stopping with "also delete" ends with the hub's confirmation of what it removed.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { TelemetryConsent, format, type ShareStatus } from "../src";
import { SHARE_ENV, serveHome, startHub, tempHome, type Hub, type OwnService } from "./setup/cli";

// Each step waits on the service (a consent change, a status read): generous on a busy machine.
const SLOW = { timeout: 10_000 };

let own: OwnService;
let hub: Hub;

beforeAll(async () => {
  [own, hub] = await Promise.all([serveHome(tempHome(), SHARE_ENV), startHub()]);
});

afterAll(async () => {
  await Promise.all([own?.stop(), hub?.stop()]);
});

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${own.url}/api/telemetry/${path}`, {
    method: init.method ?? "GET",
    headers: { "x-peft-token": own.token, "Content-Type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function shareSwitch(): HTMLElement {
  return screen.getByRole("switch", { name: "Share with your organisation" });
}

describe("Sharing with the organisation", () => {
  it("is offered only while recording is on, and a bad address changes nothing", async () => {
    render(<TelemetryConsent baseUrl={own.url} token={own.token} preview={false} />);
    await waitFor(() => expect(document.querySelector("#share-state")?.textContent).toContain("only while recording is on"), SLOW);
    const sw = shareSwitch();
    expect(sw.getAttribute("aria-checked")).toBe("false");
    expect(sw.getAttribute("aria-disabled")).toBe("true");
    expect(screen.queryByLabelText("Hub address")).toBeNull();
    sw.click();
    expect((await api<ShareStatus>("share")).sharing).toBe(false);

    const recording = await screen.findByRole("switch", { name: "Share anonymous usage data" });
    await waitFor(() => expect(recording.getAttribute("aria-disabled")).toBe("false"), SLOW);
    recording.click();
    const input = await screen.findByLabelText("Hub address", {}, SLOW);
    await waitFor(() => expect(sw.getAttribute("aria-disabled")).toBe("false"), SLOW);
    expect(sw.getAttribute("aria-checked")).toBe("false");

    fireEvent.change(input, { target: { value: "ftp://hub.example/fleet/abc" } });
    screen.getByRole("button", { name: "Start sharing" }).click();
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("Could not start sharing: the endpoint must be an http(s) URL"), SLOW);
    const after = await api<ShareStatus>("share");
    expect(after.sharing).toBe(false);
    expect(after.agreed).toBe(false);
    expect(sw.getAttribute("aria-checked")).toBe("false");
  });

  it("shares with a real hub, shows where to and how much was sent, and stops with the hub's deletion", async () => {
    await api("consent", { method: "POST", body: { enabled: true } });
    render(<TelemetryConsent baseUrl={own.url} token={own.token} preview={false} />);
    const input = await screen.findByLabelText("Hub address", {}, SLOW);
    fireEvent.change(input, { target: { value: hub.endpoint } });
    shareSwitch().click(); // the switch starts sharing with the address typed
    await waitFor(() => expect(shareSwitch().getAttribute("aria-checked")).toBe("true"), SLOW);

    const status = await api<ShareStatus>("share");
    expect(status.sharing).toBe(true);
    const credential = hub.endpoint.slice(hub.endpoint.lastIndexOf("/") + 1);
    expect(document.querySelector("#share-endpoint")?.textContent).toBe(status.endpoint);
    expect(document.querySelector("#share-state")?.textContent).toContain(status.endpoint!);
    expect(document.body.textContent).not.toContain(credential); // the credential never reaches the page
    expect(screen.queryByLabelText("Hub address")).toBeNull();

    // Events recorded after sharing began reach the hub; the card shows what the service counts as sent.
    for (let i = 0; i < 5; i += 1) await api("events", { method: "POST", body: { event_type: "shared_event", properties: { i } } });
    await waitFor(async () => expect((await api<ShareStatus>("share")).sent_spans).toBeGreaterThanOrEqual(5), { timeout: 30_000, interval: 250 });
    const sent = (await api<ShareStatus>("share")).sent_spans;
    await waitFor(() => expect(document.querySelector("#share-sent")?.textContent).toMatch(/^[\d,. ]+ records in /), { timeout: 15_000 });
    const shown = Number((document.querySelector("#share-sent")?.textContent ?? "").split(" records")[0].replace(/\D/g, ""));
    expect(shown).toBeGreaterThanOrEqual(5);
    expect(shown).toBeLessThanOrEqual((await api<ShareStatus>("share")).sent_spans);
    expect(sent).toBeGreaterThanOrEqual(5);

    // Stop, and ask the hub to delete: the dialog's safe choice is Cancel, which changes nothing.
    screen.getByRole("button", { name: "Stop sharing…" }).click();
    const dialog = document.getElementById("share-dialog") as HTMLDialogElement;
    expect(dialog.open).toBe(true);
    within(dialog).getByRole("button", { name: "Cancel" }).click();
    expect(dialog.open).toBe(false);
    expect((await api<ShareStatus>("share")).sharing).toBe(true);

    screen.getByRole("button", { name: "Stop sharing…" }).click();
    fireEvent.click(within(dialog).getByRole("checkbox", { name: /Also ask the hub to delete/ }));
    within(dialog).getByRole("button", { name: "Stop sharing" }).click();
    await waitFor(() => expect(shareSwitch().getAttribute("aria-checked")).toBe("false"), SLOW);
    const stopped = await api<ShareStatus>("share");
    expect(stopped.sharing).toBe(false);
    expect(stopped.recording).toBe(true); // recording goes on

    await waitFor(async () => expect((await api<ShareStatus>("share")).confirmed_deletions.length).toBe(1), { timeout: 30_000, interval: 250 });
    const confirmed = (await api<ShareStatus>("share")).confirmed_deletions[0];
    expect(confirmed.install_id).toBe(status.install_id);
    expect(confirmed.removed_rows).toBeGreaterThanOrEqual(shown); // at least every record the card said was sent
    // The card follows the confirmation on its next poll.
    await waitFor(() => expect(document.querySelector("#share-deletions")?.textContent).toContain(
      `The hub confirmed deleting ${format.plural(confirmed.removed_rows, "record")}`), { timeout: 15_000 });
    expect(screen.getByLabelText("Hub address")).toBeTruthy(); // it can be turned on again
  }, 120_000);
});
