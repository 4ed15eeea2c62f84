// The page `peft-telemetry serve` shows: a top bar with the tabs and the consent state, and one tab
// panel per view (listed in ./views.tsx). The views are the package's own components.

import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";

import { useStoreSnapshot, useTelemetryStore } from "../context";
import { readStatus } from "../model";
import { NoticeProvider } from "../notices";
import type { ViewDefinition } from "../views";
import { makeViews, type PageData } from "./views";

function viewFromLocation(views: ViewDefinition[], current: string | null): string {
  const hash = location.hash.slice(1);
  if (views.some((v) => v.id === hash)) return hash;
  if (current && location.hash) return current; // another fragment (the skip link's #main) is a plain anchor
  return location.pathname.endsWith("/dashboard") ? "dashboard" : views[0].id;
}

function StatePill() {
  const { status } = useStoreSnapshot(useTelemetryStore());
  const st = readStatus(status);
  const state = status === null ? "unknown" : st.enabled ? "on" : "off";
  useEffect(() => {
    if (status !== null) document.body.dataset.consent = st.enabled ? "on" : "off";
  }, [status, st.enabled]);
  const text = status === null ? "Checking…" : st.enabled ? "Recording" : st.doNotTrack ? "Off (DO_NOT_TRACK)" : "Off";
  return (
    <div className="state-pill" id="state-pill" data-state={state} title="Telemetry state">
      <span className="dot" aria-hidden="true" />
      <span id="state-pill-text">{text}</span>
    </div>
  );
}

/** A hub has no consent of its own: its pill names the hub instead. */
function HubPill({ hubId }: { hubId?: string }) {
  return (
    <div className="state-pill" id="state-pill" data-state="hub" title="Fleet hub">
      <span className="dot" aria-hidden="true" />
      <span id="state-pill-text">{hubId ? `Fleet hub ${hubId}` : "Fleet hub"}</span>
    </div>
  );
}

export function App({ data }: { data: PageData }) {
  const hub = data.kind.kind === "hub";
  const [views] = useState(() => makeViews(data));
  const [view, setView] = useState(() => viewFromLocation(views, null));
  const [seen, setSeen] = useState(() => new Set([view]));
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const readyOnce = useRef(false);
  const firstView = useRef(view);

  const show = useCallback((id: string, focus = false) => {
    history.replaceState(null, "", `#${id}`);
    setView(id);
    setSeen((s) => (s.has(id) ? s : new Set(s).add(id)));
    if (focus) tabs.current[views.findIndex((v) => v.id === id)]?.focus();
  }, [views]);

  useEffect(() => {
    const onHash = () => {
      if (views.some((v) => `#${v.id}` === location.hash)) {
        const id = viewFromLocation(views, null);
        setView(id);
        setSeen((s) => (s.has(id) ? s : new Set(s).add(id)));
      }
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, [views]);

  useEffect(() => {
    const current = views.find((v) => v.id === view);
    document.title = `${current?.title ?? ""} · Telemetry · PEFT Studio`;
  }, [view, views]);

  function onKey(e: KeyboardEvent<HTMLButtonElement>, i: number) {
    // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
    const step = ({ ArrowRight: 1, ArrowLeft: -1 } as Record<string, number>)[e.key];
    if (step === undefined && e.key !== "Home" && e.key !== "End") return;
    e.preventDefault();
    const n = views.length;
    const j = e.key === "Home" ? 0 : e.key === "End" ? n - 1 : (i + step + n) % n;
    show(views[j].id, true);
  }

  // Navigation start -> the first view drawn: for the benchmark (bench/bench_dashboard.py) and the curious.
  const onReady = useCallback((id: string) => {
    if (readyOnce.current || id !== firstView.current) return;
    readyOnce.current = true;
    (window as unknown as { __peftReadyMs: number }).__peftReadyMs = performance.now();
    document.body.dataset.ready = "true";
  }, []);

  return (
    <>
      <a className="skip-link btn" href="#main">Skip to content</a>
      <header className="topbar">
        <div className="topbar-inner">
          <div className="brand">
            <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
              <rect x="2" y="13" width="4" height="9" rx="1" fill="currentColor" opacity=".45" />
              <rect x="10" y="7" width="4" height="15" rx="1" fill="currentColor" opacity=".7" />
              <rect x="18" y="2" width="4" height="20" rx="1" fill="currentColor" />
            </svg>
            <span>PEFT Studio <span className="brand-sub">Telemetry</span></span>
          </div>
          <nav className="tabs" role="tablist" aria-label="Sections">
            {views.map((v, i) => (
              <button
                key={v.id}
                ref={(el) => { tabs.current[i] = el; }}
                className="tab"
                role="tab"
                id={`tab-${v.id}`}
                aria-controls={`view-${v.id}`}
                aria-selected={view === v.id}
                tabIndex={view === v.id ? 0 : -1}
                data-view={v.id}
                onClick={() => show(v.id)}
                onKeyDown={(e) => onKey(e, i)}
              >
                {v.label}
              </button>
            ))}
          </nav>
          {hub ? <HubPill hubId={data.kind.hub_id} /> : <StatePill />}
        </div>
      </header>
      <NoticeProvider ids command={hub ? "peft-telemetry hub" : undefined}>
        <main id="main" tabIndex={-1}>
          {views.map((v) =>
            seen.has(v.id) ? (
              <v.component
                key={v.id}
                active={view === v.id}
                onReady={() => onReady(v.id)}
                rootProps={{ id: `view-${v.id}`, role: "tabpanel", "aria-labelledby": `tab-${v.id}`, hidden: view !== v.id }}
              />
            ) : null,
          )}
        </main>
      </NoticeProvider>
      <footer>
        {hub
          ? "Fleet hub: what installs chose to share, shown only in groups of several installs."
          : "Local-first telemetry: nothing leaves this computer unless you export it or choose to share it with your organisation."}
      </footer>
    </>
  );
}
