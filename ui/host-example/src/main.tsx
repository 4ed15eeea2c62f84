// A minimal host app, not part of the UI package: it imports both components from the built package (as
// PEFT Studio would from npm) and places them in its own settings screen and insights screen. The
// service's address and token come in the URL fragment (#token=…), as a host would pass its own config.
import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { TelemetryAnalyticsDashboard, TelemetryConsent, TelemetryProvider } from "@peft-studio/telemetry-ui";
import "@peft-studio/telemetry-ui/style.css";

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token") ?? undefined;
const baseUrl = params.get("base") ?? location.origin;

function HostApp() {
  const [screen, setScreen] = useState<"settings" | "insights">("settings");
  return (
    <TelemetryProvider baseUrl={baseUrl} token={token}>
      <header className="host-bar">
        <strong>PEFT Studio</strong>
        <nav aria-label="Host app">
          <button type="button" aria-pressed={screen === "settings"} onClick={() => setScreen("settings")}>Settings</button>
          <button type="button" aria-pressed={screen === "insights"} onClick={() => setScreen("insights")}>Insights</button>
        </nav>
      </header>
      <main id="host-main">
        {screen === "settings" ? <TelemetryConsent /> : <TelemetryAnalyticsDashboard consentHref="#settings" />}
      </main>
    </TelemetryProvider>
  );
}

createRoot(document.getElementById("host-root") as HTMLElement).render(
  <StrictMode>
    <HostApp />
  </StrictMode>,
);
