// Starts the real service (`peft-telemetry serve --port 0`) with a fresh data home, reads the URL and
// token it prints, and finds a port where nothing listens (the "service is down" case).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

import { freePort, serveHome } from "./cli";

declare module "vitest" {
  export interface ProvidedContext {
    service: { url: string; token: string; home: string; downUrl: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const home = mkdtempSync(join(tmpdir(), "peft-ui-test-"));
  const service = await serveHome(home); // DO_NOT_TRACK cleared: the tests switch consent themselves
  project.provide("service", { url: service.url, token: service.token, home, downUrl: `http://127.0.0.1:${await freePort()}` });
  return service.stop;
}
