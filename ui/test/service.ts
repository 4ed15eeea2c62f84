// The running service, for tests: its URL and token, and calls made the way the app would make them.
import { inject } from "vitest";

export const service = inject("service");

export async function call(path: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const res = await fetch(`${service.url}/api/telemetry/${path}`, {
    method: init.method ?? "GET",
    headers: { "x-peft-token": service.token, "Content-Type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

export async function consentEnabled(): Promise<boolean> {
  return ((await call("consent")) as { enabled: boolean }).enabled;
}
