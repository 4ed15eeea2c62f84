// The page's entry: read what the server put into the page, keep the token out of the address bar, and
// draw the App with one shared client (same origin, the token as a cookie).

import { createRoot } from "react-dom/client";

import { TelemetryProvider } from "../context";
import { App } from "./App";
import { readPageKind, type PageData } from "./views";
import "../styles.css";

/** The JSON of an inert block the server streamed into the page, read once and removed. */
function takeBlock(id: string): unknown {
  const el = document.getElementById(id);
  if (!el) return undefined;
  el.remove();
  try {
    return JSON.parse(el.textContent || "null");
  } catch {
    return undefined;
  }
}

// The access token came in the first URL and is now a cookie: keep it out of history and bookmarks.
const url = new URL(location.href);
if (url.searchParams.has("token")) {
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

const collected = takeBlock("collected-data");
const data: PageData = {
  // A hub's page says so in an inert block (contract C1): then it shows the fleet, not this install's consent.
  kind: readPageKind(takeBlock("page-kind")),
  collected: Array.isArray(collected) ? collected : [],
  // The first report reaches the page one way only: GET /dashboard streams it in (see _dashboard.py).
  report: takeBlock("dashboard-report"),
};

createRoot(document.getElementById("root") as HTMLElement).render(
  <TelemetryProvider>
    <App data={data} />
  </TelemetryProvider>,
);
