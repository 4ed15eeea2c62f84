import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from "react";

import { TelemetryClient, type TelemetryClientOptions } from "./client";
import { TelemetryStore, type StoreSnapshot } from "./store";

const StoreContext = createContext<TelemetryStore | null>(null);

/** How a component finds the service: a provider above it, or its own props. */
export interface ConnectionProps extends TelemetryClientOptions {
  /** A client to use instead of one built from baseUrl/token. */
  client?: TelemetryClient;
}

export interface TelemetryProviderProps extends ConnectionProps {
  children?: ReactNode;
}

/**
 * Gives every telemetry component below it one client and one shared consent state.
 *
 * @example
 * <TelemetryProvider baseUrl="http://127.0.0.1:8000" token={token}>
 *   <TelemetryConsent />
 *   <TelemetryAnalyticsDashboard />
 * </TelemetryProvider>
 */
export function TelemetryProvider({ children, client, baseUrl, token, fetch }: TelemetryProviderProps) {
  const store = useMemo(
    () => new TelemetryStore(client ?? new TelemetryClient({ baseUrl, token, fetch })),
    [client, baseUrl, token, fetch],
  );
  useEffect(() => store.connect(), [store]);
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

/** The store of the nearest provider, or one of the component's own when it was given connection props. */
export function useTelemetryStore(props: ConnectionProps = {}): TelemetryStore {
  const shared = useContext(StoreContext);
  const { client, baseUrl, token, fetch } = props;
  const own = client !== undefined || baseUrl !== undefined || token !== undefined || fetch !== undefined;
  const local = useMemo(
    () => (own || !shared ? new TelemetryStore(client ?? new TelemetryClient({ baseUrl, token, fetch })) : null),
    [own, shared, client, baseUrl, token, fetch],
  );
  useEffect(() => local?.connect(), [local]);
  return local ?? (shared as TelemetryStore);
}

/** The shared consent state and data version, redrawn on every change. */
export function useStoreSnapshot(store: TelemetryStore): StoreSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
