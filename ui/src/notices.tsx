// Messages for the user: a polite live region for what happened, and an alert banner for what failed.
// The page shows one of each for all its views (NoticeProvider); a component placed alone in a host app
// shows its own (NoticeScope).

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import { ApiError } from "./client";

export interface Notices {
  /** Say something to screen-reader users; with isError it also shows in the alert banner. */
  announce(text: string, isError?: boolean): void;
  /** Show an error in the alert banner (and announce it). */
  fail(what: string, err: unknown): void;
  clear(): void;
}

const NoticeContext = createContext<Notices | null>(null);

/** `command`: what printed the page's link (the service's `peft-telemetry serve`, a hub's `peft-telemetry hub`). */
function describe(what: string, err: unknown, command: string): { text: string; hint: ReactNode } {
  if (err instanceof ApiError && err.status === 401) {
    return {
      text: `${what}: not allowed without the access token.`,
      hint: (
        <span>
          Open the link that <code>{command}</code> printed (it carries the access token), or give the
          component its token.
        </span>
      ),
    };
  }
  if (err instanceof ApiError && err.status === 403 && /token/i.test(err.message)) {
    return { text: `${what}: the access token is wrong.`, hint: <span>Use the token that <code>{command}</code> printed.</span> };
  }
  return { text: `${what}: ${err instanceof Error ? err.message : String(err)}`, hint: null };
}

/**
 * One live region and one alert banner for everything inside it. `ids` names them for the page; `command`
 * is what printed the page's link, for the hint when the token is missing or wrong.
 */
export function NoticeProvider({ children, ids = false, command = "peft-telemetry serve" }: { children?: ReactNode; ids?: boolean; command?: string }) {
  const [live, setLive] = useState("");
  const [alert, setAlert] = useState<{ text: string; hint: ReactNode } | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const announce = useCallback((text: string, isError = false) => {
    setLive("");
    // A fresh text after a tick makes screen readers repeat an identical message.
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setLive(text), 30);
    if (isError) setAlert({ text, hint: null });
  }, []);
  // A pending announcement must not fire after the provider is gone (a closed dialog, a torn-down test).
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  const fail = useCallback(
    (what: string, err: unknown) => {
      const message = describe(what, err, command);
      setAlert(message);
      announce(message.text);
    },
    [announce, command],
  );
  const clear = useCallback(() => setAlert(null), []);
  const value = useMemo(() => ({ announce, fail, clear }), [announce, fail, clear]);

  return (
    <NoticeContext.Provider value={value}>
      <div id={ids ? "announcer" : undefined} className="visually-hidden" role="status" aria-live="polite">
        {live}
      </div>
      <div id={ids ? "alert" : undefined} className="banner banner-error" role="alert" hidden={!alert}>
        {alert ? (
          <>
            {alert.text}
            {alert.hint ? " " : null}
            {alert.hint}
          </>
        ) : null}
      </div>
      {children}
    </NoticeContext.Provider>
  );
}

/** The notices of the provider above, or a pair of the component's own. */
export function NoticeScope({ children }: { children?: ReactNode }) {
  const outer = useContext(NoticeContext);
  return outer ? <>{children}</> : <NoticeProvider>{children}</NoticeProvider>;
}

export function useNotices(): Notices {
  const notices = useContext(NoticeContext);
  if (!notices) throw new Error("useNotices needs a NoticeScope above it");
  return notices;
}
