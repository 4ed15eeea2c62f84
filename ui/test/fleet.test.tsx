// TelemetryFleet and the hub's page. The hub's GET /fleet answers with run_fleet_report(lake, "fleet"):
// the answers below are made by that very function over a small real Parquet lake (LakeWriter), at two
// values of k, and handed to the component through the client's fetch option (the hub's HTTP API is
// built elsewhere). Nothing in them is written by hand.
import { execFile } from "node:child_process";

import { render, screen, waitFor, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";

import { TelemetryFleet, TelemetryProvider, format, type FleetReport } from "../src";
import { App } from "../src/page/App";
import { makeViews, readPageKind } from "../src/page/views";
import { service } from "./service";
import { PYTHON } from "./setup/cli";

// Seven installs over three days: five on 1.0 and two on 2.0-beta; three on linux, three on darwin, one
// on windows; each install's first record an error. With k = 3, one version and one OS are left out.
const LAKE_REPORTS = `
import hashlib, json, sys, tempfile
from pathlib import Path
import pyarrow as pa
from exporters.lake import LAKE_SPANS_ARROW, LakeWriter
from analytics.fleet.reports import run_fleet_report
DAY, START = 86_400 * 10**9, 1_790_000_000 * 10**9
rows = []
for install in range(7):
    iid = hashlib.sha256(f"install-{install}".encode()).hexdigest()
    for i in range(4 + install):
        t = START + (i % 3) * DAY + install
        rows.append({"share_id": f"{iid}:{i}", "install_id": iid, "trace_id": f"{install:016x}{i:016x}",
            "span_id": f"{i:016x}", "name": "e", "event_type": "e", "category": "error" if i == 0 else "event",
            "session_id": f"s{install}-{i % 2}", "start_ns": t, "end_ns": t, "received_ns": t, "hub_id": "ui-test",
            "app_version": "1.0" if install < 5 else "2.0-beta", "os_type": ("linux", "darwin", "windows")[min(install // 3, 2)]})
with tempfile.TemporaryDirectory() as lake:
    LakeWriter(Path(lake)).write(pa.Table.from_pylist(rows, LAKE_SPANS_ARROW))
    print(json.dumps({k: run_fleet_report(Path(lake), "fleet", min_installs=int(k)) for k in sys.argv[1:]}))
`;

let reports: Record<string, FleetReport>;
let bodies: Record<string, string>;

beforeAll(async () => {
  const out = await new Promise<string>((done, fail) => {
    execFile(PYTHON, ["-c", LAKE_REPORTS, "3", "10"], { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? fail(new Error(`the fleet report failed: ${stderr}`)) : done(stdout),
    );
  });
  bodies = Object.fromEntries(Object.entries(JSON.parse(out) as Record<string, unknown>).map(([k, v]) => [k, JSON.stringify(v)]));
  reports = JSON.parse(out) as Record<string, FleetReport>;
});

/** A hub answering GET /api/telemetry/fleet with `body` when the token is right, 404 for anything else. */
function hubFetch(body: string, token: string, seen: string[] = []): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    seen.push(url);
    const headers = new Headers(init?.headers);
    if (headers.get("x-peft-token") !== token) return new Response(JSON.stringify({ detail: "the access token is wrong" }), { status: 403 });
    if (new URL(url).pathname === "/api/telemetry/fleet") return new Response(body, { headers: { "Content-Type": "application/json" } });
    return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
  };
}

const HUB = "http://hub.test:4318";

describe("TelemetryFleet", () => {
  it("draws the totals, versions, OS mix and days the report holds, and says what k left out", async () => {
    const r = reports["3"];
    const seen: string[] = [];
    render(<TelemetryFleet baseUrl={HUB} token="hub-token" fetch={hubFetch(bodies["3"], "hub-token", seen)} />);
    await waitFor(() => expect(document.querySelector("#stat-fleet-installs")?.textContent).toBe(format.formatNumber(r.totals!.installs)));
    expect(seen).toEqual([`${HUB}/api/telemetry/fleet`]);
    expect(document.querySelector("#stat-fleet-events")?.textContent).toBe(format.formatNumber(r.totals!.events));
    expect(document.querySelector("#stat-fleet-sessions")?.textContent).toBe(format.formatNumber(r.totals!.sessions));
    expect(document.querySelector("#stat-fleet-errors")?.textContent).toBe(format.formatNumber(r.totals!.errors));

    const versions = [...document.querySelectorAll<HTMLElement>("#fleet-versions li")];
    expect(versions.map((li) => li.dataset.key)).toEqual(r.versions.map((v) => v.app_version));
    expect(versions[0].querySelector(".barlist-num")?.textContent).toBe(`${format.plural(r.versions[0].installs, "install")} · ${format.plural(r.versions[0].events, "record")}`);
    const os = [...document.querySelectorAll<HTMLElement>("#fleet-os li")].map((li) => li.dataset.key);
    expect(os).toEqual(r.os_mix.map((o) => o.os_type));

    const chart = document.querySelector("#chart-fleet-daily svg");
    const installDays = r.daily_installs.reduce((a, d) => a + d.installs, 0);
    expect(chart?.getAttribute("aria-label")).toContain(`Installs per day: ${format.formatNumber(installDays)} installs`);
    expect(chart?.querySelectorAll("rect.col").length).toBe(r.daily_installs.length);

    // The lake has 2 versions and 3 operating systems: what k = 3 hid is said, with k.
    expect(r.suppressed.versions + r.suppressed.os_mix).toBeGreaterThan(0);
    const note = document.querySelector("#fleet-suppressed")?.textContent ?? "";
    expect(note).toContain("fewer than 3 installs");
    expect(note).toContain(format.plural(r.suppressed.versions, "app version"));
    expect(note).toContain(format.plural(r.suppressed.os_mix, "operating system"));
    expect(note).not.toContain("day");
  });

  it("shows nothing but the reason while the fleet is smaller than k", async () => {
    const r = reports["10"];
    expect(r.totals).toBeNull();
    render(<TelemetryFleet baseUrl={HUB} token="hub-token" fetch={hubFetch(bodies["10"], "hub-token")} />);
    await screen.findByText("Fewer than 10 installs share with this hub so far.");
    expect(document.querySelector("#fleet-stats")).toBeNull();
    expect(document.querySelectorAll("#fleet-versions li, #fleet-os li").length).toBe(0);
    const note = document.querySelector("#fleet-suppressed")?.textContent ?? "";
    expect(note).toContain("the fleet total");
    expect(note).toContain(format.plural(r.suppressed.os_mix, "operating system"));
  });

  it("says plainly when the hub refuses the token or cannot be reached", async () => {
    render(<TelemetryFleet baseUrl={HUB} token="wrong" fetch={hubFetch(bodies["3"], "hub-token")} />);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Could not load the fleet report: the access token is wrong"));
    document.body.innerHTML = "";
    render(<TelemetryFleet baseUrl={service.downUrl} token="hub-token" />);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("not reachable"));
  });
});

describe("the hub's page", () => {
  it("shows Fleet, Dashboard and Insights with a page-kind hub block, the usual views otherwise", () => {
    const ids = (raw: unknown) => makeViews({ kind: readPageKind(raw), collected: [], report: undefined }).map((v) => v.id);
    expect(ids({ kind: "hub", hub_id: "e4b9", min_installs: 5 })).toEqual(["fleet", "dashboard", "insights"]);
    expect(ids(undefined)).toEqual(["consent", "dashboard", "insights"]);
    expect(ids({ kind: "install" })).toEqual(["consent", "dashboard", "insights"]);
    expect(ids("hub")).toEqual(["consent", "dashboard", "insights"]);
  });

  it("opens on the fleet, names the hub, and asks nothing of consent", async () => {
    const seen: string[] = [];
    location.hash = "";
    render(
      <TelemetryProvider fetch={hubFetch(bodies["3"], "hub-token", seen)} baseUrl={HUB} token="hub-token">
        <App data={{ kind: readPageKind({ kind: "hub", hub_id: "e4b9", min_installs: 3 }), collected: [], report: undefined }} />
      </TelemetryProvider>,
    );
    const tabs = screen.getAllByRole("tab").map((t) => t.textContent);
    expect(tabs).toEqual(["Fleet", "Dashboard", "Insights"]);
    expect(screen.getByRole("tab", { name: "Fleet" }).getAttribute("aria-selected")).toBe("true");
    expect(document.querySelector("#state-pill-text")?.textContent).toBe("Fleet hub e4b9");
    const panel = screen.getByRole("tabpanel");
    await waitFor(() => expect(within(panel).getByText(format.formatNumber(reports["3"].totals!.installs), { selector: "#stat-fleet-installs" })).toBeTruthy());
    expect(seen.map((u) => new URL(u).pathname)).toEqual(["/api/telemetry/fleet"]);
  });
});
