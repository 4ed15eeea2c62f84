// TelemetryAnalyticsDashboard against the real service: it draws what the service recorded, its export
// button downloads that data with the token, and a stopped service or a refused token is said plainly.
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";

import { TelemetryAnalyticsDashboard } from "../src";
import { call, service } from "./service";
import { createdBlobs } from "./setup/dom";

interface Report {
  totals: { total_events: number };
  event_breakdown: { event_type: string; count: number; percentage: number }[];
}

beforeAll(async () => {
  await call("consent", { method: "POST", body: { enabled: true } });
  for (const [type, n] of [["training_started", 3], ["model_loaded", 1]] as const) {
    for (let i = 0; i < n; i += 1) await call("events", { method: "POST", body: { event_type: type, properties: { i } } });
  }
  await call("performance", { method: "POST", body: { metric_name: "model_load_time", value: 120, unit: "ms" } });
  await call("consent", { method: "POST", body: { enabled: false } }); // our own reads record nothing more
  // Written within the flush interval: wait until the report has them.
  await waitFor(async () => expect(((await call("analytics", { method: "POST", body: {} })) as Report).totals.total_events).toBe(4), { timeout: 15_000 });
});

describe("TelemetryAnalyticsDashboard", () => {
  it("draws the summary, the breakdown with percentages and the performance table from the service", async () => {
    const report = (await call("analytics", { method: "POST", body: {} })) as Report;
    render(<TelemetryAnalyticsDashboard baseUrl={service.url} token={service.token} />);
    await waitFor(() => expect(document.querySelector("#stat-total")?.textContent).toBe(String(report.totals.total_events)));
    const started = document.querySelector('#breakdown li[data-key="training_started"] .barlist-num');
    expect(started?.textContent).toBe("75.0% · 3");
    const row = [...document.querySelectorAll("#perf tbody tr")].find((tr) => tr.textContent?.includes("model_load_time"));
    expect([...(row?.querySelectorAll("td") ?? [])].map((td) => td.textContent)).toEqual(["model_load_time", "1", "120 ms", "120 ms", "120 ms", "120 ms"]);
    expect(screen.getByRole("heading", { name: "System information" })).toBeTruthy();
  });

  it("draws a report it is given without asking the service, then asks for a new range", async () => {
    const report = (await call("analytics", { method: "POST", body: {} })) as Report;
    const given = { ...report, totals: { ...report.totals, total_events: 123456 } };
    render(<TelemetryAnalyticsDashboard baseUrl={service.url} token={service.token} initialReport={given} />);
    await waitFor(() => expect(document.querySelector("#stat-total")?.textContent).toBe("123,456"));
    fireEvent.change(screen.getByLabelText("Time range"), { target: { value: "86400" } });
    await waitFor(() => expect(document.querySelector("#stat-total")?.textContent).toBe("4"));
  });

  it("exports the recorded data with the token (a link cannot carry it)", async () => {
    render(<TelemetryAnalyticsDashboard baseUrl={service.url} token={service.token} />);
    const link = await screen.findByRole("link", { name: "Export" });
    await waitFor(() => expect(document.querySelector("#stat-total")?.textContent).toBe("4"));
    expect(link.getAttribute("href")).toBe(`${service.url}/api/telemetry/export`);
    const before = createdBlobs.length;
    fireEvent.click(link);
    await waitFor(() => expect(createdBlobs.length).toBe(before + 1));
    const lines = (await createdBlobs[before].text()).trim().split("\n").map((line) => JSON.parse(line));
    const names = lines.flatMap((l) => (l.resourceSpans ?? []).flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => s.name))));
    expect(names.filter((n: string) => n === "training_started")).toHaveLength(3);
  });

  it("says the service is not reachable when it is down, and shows no numbers", async () => {
    render(<TelemetryAnalyticsDashboard baseUrl={service.downUrl} token={service.token} />);
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("Could not load the analytics: The telemetry service is not reachable"));
    expect(document.querySelector("#stat-total")?.textContent).toBe("–");
  });

  it("says the token is wrong when the service refuses it", async () => {
    const probe = await fetch(`${service.url}/api/telemetry/analytics`, {
      method: "POST", headers: { "x-peft-token": "x".repeat(43), "Content-Type": "application/json" }, body: "{}",
    });
    if (probe.status !== 403) {
      // Reads are public until the service requires the token for them (contract 2): the refusal to show
      // then comes from the export, which the component fetches with the same header.
      render(<TelemetryAnalyticsDashboard baseUrl={service.url} token={"x".repeat(43)} />);
      await waitFor(() => expect(document.querySelector("#stat-total")?.textContent).toBe("4"));
      const exportProbe = await fetch(`${service.url}/api/telemetry/export`, { headers: { "x-peft-token": "x".repeat(43) } });
      if (exportProbe.status !== 403) return;
      fireEvent.click(screen.getByRole("link", { name: "Export" }));
    } else {
      render(<TelemetryAnalyticsDashboard baseUrl={service.url} token={"x".repeat(43)} />);
    }
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("the access token is wrong"));
  });
});
