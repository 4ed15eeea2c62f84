// TelemetryInsights against real services: one over four weeks of `peft-telemetry demo --days 28` history
// (a slowdown planted at 1.2.0, an error burst, an experiment across simulated installs), one over an
// empty log; a missing or wrong token and a stopped service are said plainly.
import { render, screen, waitFor, within } from "@testing-library/react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { TelemetryClient, TelemetryInsights, type InsightsReport } from "../src";
import { service } from "./service";
import { runCli, serveHome, tempHome, type OwnService } from "./setup/cli";

let history: OwnService;
let empty: OwnService;
let report: InsightsReport;

beforeAll(async () => {
  const home = tempHome();
  await runCli(home, "enable");
  await runCli(home, "demo", "--days", "28", "--seed", "7", "--no-progress");
  await runCli(home, "disable"); // the component's own reads record nothing
  [history, empty] = await Promise.all([serveHome(home), serveHome(tempHome())]);
  report = await new TelemetryClient({ baseUrl: history.url, token: history.token }).insights();
}, 120_000);

afterAll(async () => {
  await Promise.all([history?.stop(), empty?.stop()]);
});

describe("TelemetryInsights", () => {
  it("shows the planted regression with its version, the anomalies, the heatmap and the experiment", async () => {
    const planted = report.regressions.items.find((r) => r.version === "1.2.0");
    expect(planted, "the service found the demo's slowdown").toBeTruthy();
    const { container } = render(<TelemetryInsights baseUrl={history.url} token={history.token} />);
    const card = await waitFor(() => {
      const el = container.querySelector(`.regression[data-series="${planted!.series}"]`);
      expect(el).toBeTruthy();
      return el as HTMLElement;
    }, { timeout: 15_000 });
    expect(card.querySelector(".regression-version")?.textContent).toBe("1.2.0");
    expect(card.querySelector(".regression-change .slower")?.textContent).toBe(`+${Math.round(planted!.relative_change! * 100)}%`);
    const rows = within(card).getAllByRole("row").slice(1).map((tr) => tr.querySelector("td")?.textContent);
    expect(rows).toEqual([`Before (${planted!.previous_version})`, "After (1.2.0)"]);

    // Anomalies: a row per hour found, the first one the service's first, and marks on the time chart.
    const table = screen.getByRole("table", { name: "Anomalous hours" });
    const first = report.anomalies.items[0];
    expect(within(table).getAllByRole("row")).toHaveLength(1 + Math.min(30, report.anomalies.items.length));
    expect(within(table).getAllByRole("row")[1].textContent).toContain(`${first.day_of_week} ${first.date}, ${String(first.hour).padStart(2, "0")}:00`);
    await waitFor(() => expect(container.querySelectorAll("#chart-anomalies .anomaly").length).toBeGreaterThan(0));

    // The heatmap: 7 x 24 cells, each cell's count as its text.
    const heat = container.querySelector("#heatmap-table") as HTMLTableElement;
    expect(heat.tBodies[0].rows).toHaveLength(7);
    const cell = report.heatmap.hour_of_week.find((c) => c.count > 0 && c.count < 1000)!;
    expect(heat.tBodies[0].rows[cell.day_of_week].cells[cell.hour + 1].textContent).toBe(String(cell.count));

    // The experiment: its words, its flags, an interval per variant per goal and metric.
    const x = report.experiments.items[0];
    const exp = container.querySelector(`.experiment[data-experiment="${x.series}"]`) as HTMLElement;
    expect(exp.querySelector(".experiment-message")?.textContent).toBe(x.message);
    expect(exp.querySelectorAll('[data-flag="srm"]')).toHaveLength(x.srm_flagged ? 1 : 0);
    expect(exp.querySelectorAll(".ci")).toHaveLength([...x.goals, ...x.metrics].reduce((n, g) => n + g.variants.length, 0));
  });

  it("says what each section needs on an empty log", async () => {
    render(<TelemetryInsights baseUrl={empty.url} token={empty.token} />);
    expect(await screen.findByText("No slowdown found.", {}, { timeout: 15_000 })).toBeTruthy();
    expect(screen.getByText("No anomalous hour.")).toBeTruthy();
    expect(screen.getByText("No events yet.")).toBeTruthy();
    expect(screen.getByText("No experiments recorded.")).toBeTruthy();
    expect(screen.queryByRole("alert")?.textContent ?? "").toBe("");
  });

  it("says the token is needed when none is given, and shows nothing", async () => {
    render(<TelemetryInsights baseUrl={service.url} />);
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("Could not load the insights: not allowed without the access token."));
    expect(screen.getByText("No insights to show.")).toBeTruthy();
  });

  it("says the token is wrong when the service refuses it", async () => {
    render(<TelemetryInsights baseUrl={service.url} token={"x".repeat(43)} />);
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("Could not load the insights: the access token is wrong."));
  });

  it("says the service is not reachable when it is down", async () => {
    render(<TelemetryInsights baseUrl={service.downUrl} token={service.token} />);
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("Could not load the insights: The telemetry service is not reachable"));
    expect(screen.getByText("No insights to show.")).toBeTruthy();
  });
});
