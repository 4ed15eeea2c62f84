// Starts the first requests while the page's modules are still loading. Loaded as a classic async
// script so it runs as soon as it arrives; app.js takes the answers over (window.__peftEarly) the first
// time it asks for the same thing. Both views start with the consent state and the privacy rules.
// The dashboard's query is started here only when the page was opened as /#dashboard: /dashboard
// needs none, the server streams that answer into the page itself.
(() => {
  if (typeof fetch !== "function") return;
  const get = (path) => fetch(`api/telemetry/${path}`, {
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  window.__peftEarly = { consent: get("consent"), rules: get("rules") };
  const onDashboard = location.hash === "#dashboard" && !/\/dashboard$/.test(location.pathname);
  if (!onDashboard) return;
  window.__peftEarly.analytics = fetch("api/telemetry/analytics", {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: "{}",
  });
})();
