// TelemetryConsent against the real service: the switch changes the service's state, the lists come from
// the service, and a missing or wrong token or a stopped service each get a clear message.
import { render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { TelemetryConsent } from "../src";
import { call, consentEnabled, service } from "./service";

async function switchReady(): Promise<HTMLElement> {
  const sw = await screen.findByRole("switch", { name: "Share anonymous usage data" });
  await waitFor(() => expect(sw.getAttribute("aria-disabled")).toBe("false"));
  return sw;
}

afterEach(async () => {
  await call("consent", { method: "POST", body: { enabled: false } });
});

describe("TelemetryConsent", () => {
  it("turns telemetry on and off in the service, round trip", async () => {
    render(<TelemetryConsent baseUrl={service.url} token={service.token} preview={false} />);
    const sw = await switchReady();
    expect(sw.getAttribute("aria-checked")).toBe("false");
    expect(await consentEnabled()).toBe(false);

    sw.click();
    await waitFor(() => expect(sw.getAttribute("aria-checked")).toBe("true"));
    expect(await consentEnabled()).toBe(true);
    expect(screen.getByRole("status").textContent ?? "").toMatch(/^$|Telemetry is on/);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Telemetry is on"));

    sw.click();
    await waitFor(() => expect(sw.getAttribute("aria-checked")).toBe("false"));
    expect(await consentEnabled()).toBe(false);
  });

  it("shows the anonymous id, the rules and what is collected, as the service states them", async () => {
    render(<TelemetryConsent baseUrl={service.url} token={service.token} preview={false} />);
    await switchReady();
    const consent = (await call("consent")) as { anonymous_user_id: string | null };
    const rules = (await call("rules")) as { id: string; marker: string }[];
    const collected = (await call("collected")) as { id: string; fields: string[] }[];
    await waitFor(() => expect(document.querySelectorAll("#never-list [data-rule]").length).toBe(rules.length));
    expect(document.querySelector("#anon-id")?.textContent).toBe(consent.anonymous_user_id || "–");
    const email = document.querySelector('#never-list [data-rule="value.email"]');
    expect(email?.textContent).toContain(rules.find((r) => r.id === "value.email")?.marker);
    const items = [...document.querySelectorAll<HTMLElement>("#collect-list > li")];
    expect(items.map((li) => li.dataset.id)).toEqual(collected.map((c) => c.id));
    expect([...items[0].querySelectorAll(".field-name")].map((c) => c.textContent)).toEqual(collected[0].fields);
  });

  it("renders the event catalog when the service has one, and nothing for it when it answers 404", async () => {
    render(<TelemetryConsent baseUrl={service.url} token={service.token} preview={false} />);
    await switchReady();
    const res = await fetch(`${service.url}/api/telemetry/catalog`);
    if (res.status === 404) {
      await waitFor(() => expect(document.querySelectorAll("#never-list [data-rule]").length).toBeGreaterThan(0));
      expect(screen.queryByRole("heading", { name: "Events this app may send" })).toBeNull();
    } else {
      const catalog = (await res.json()) as { events: { name: string }[] };
      const section = await screen.findByRole("region", { name: "Events this app may send" });
      for (const event of catalog.events) expect(within(section).getByText(event.name)).toBeTruthy();
    }
  });

  it("renders a catalog of the contract's shape: events, their properties and types", async () => {
    // Until the service has GET /catalog, this answer stands in for it; every other call goes to the service.
    const catalog = {
      strict: true,
      events: [{
        name: "training_started",
        description: "A training run began.",
        properties: [
          { name: "algorithm", type: "enum", description: "The PEFT method.", enum: ["lora", "qlora"] },
          { name: "lora_r", type: "integer", description: "The LoRA rank.", enum: null },
        ],
      }],
    };
    const withCatalog: typeof fetch = (input, init) =>
      String(input).endsWith("/api/telemetry/catalog")
        ? Promise.resolve(new Response(JSON.stringify(catalog), { headers: { "Content-Type": "application/json" } }))
        : fetch(input, init);
    render(<TelemetryConsent baseUrl={service.url} token={service.token} fetch={withCatalog} preview={false} />);
    const section = await screen.findByRole("region", { name: "Events this app may send" });
    expect(within(section).getByText("training_started")).toBeTruthy();
    expect(within(section).getByText("anything else is refused")).toBeTruthy();
    expect(section.textContent).toContain("one of lora, qlora · The PEFT method.");
    expect(section.textContent).toContain("integer · The LoRA rank.");
  });

  it("says the token is missing when it was not given, and changes nothing", async () => {
    render(<TelemetryConsent baseUrl={service.url} preview={false} />);
    const sw = await switchReady();
    sw.click();
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("not allowed without the access token"));
    expect(sw.getAttribute("aria-checked")).toBe("false");
    expect(await consentEnabled()).toBe(false);
  });

  it("says the token is wrong when it is, and changes nothing", async () => {
    render(<TelemetryConsent baseUrl={service.url} token={"x".repeat(43)} preview={false} />);
    const sw = await switchReady();
    sw.click();
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("the access token is wrong"));
    expect(await consentEnabled()).toBe(false);
  });

  it("says the service is not reachable when it is down", async () => {
    render(<TelemetryConsent baseUrl={service.downUrl} token={service.token} preview={false} />);
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("not reachable"));
    expect(screen.getByRole("switch", { name: "Share anonymous usage data" }).getAttribute("aria-disabled")).toBe("true");
  });
});
