// Components under one TelemetryProvider share the consent state: switching it in TelemetryConsent
// changes the dashboard's "telemetry is off" banner at once, with the service's state behind both.
import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, expect, it } from "vitest";

import { TelemetryAnalyticsDashboard, TelemetryConsent, TelemetryProvider } from "../src";
import { call, consentEnabled, service } from "./service";

afterEach(async () => {
  await call("consent", { method: "POST", body: { enabled: false } });
});

it("turning consent on in TelemetryConsent hides the dashboard's 'telemetry is off' banner", async () => {
  render(
    <TelemetryProvider baseUrl={service.url} token={service.token}>
      <TelemetryConsent preview={false} />
      <TelemetryAnalyticsDashboard />
    </TelemetryProvider>,
  );
  const banner = () => document.querySelector<HTMLElement>("#dash-banner");
  await waitFor(() => expect(banner()?.hidden).toBe(false));
  expect(banner()?.textContent).toContain("Telemetry is off");
  const sw = screen.getByRole("switch", { name: "Share anonymous usage data" });
  await waitFor(() => expect(sw.getAttribute("aria-disabled")).toBe("false"));
  sw.click();
  await waitFor(() => expect(banner()?.hidden).toBe(true));
  expect(await consentEnabled()).toBe(true);
  // Nothing failed on the way (each component alone keeps its own alert banner).
  expect(screen.getAllByRole("alert", { hidden: true }).every((a) => a.hidden)).toBe(true);
});
