// Starts the real service (`peft-telemetry serve --port 0`) with a fresh data home, reads the URL and
// token it prints, and finds a port where nothing listens (the "service is down" case).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    service: { url: string; token: string; home: string; downUrl: string };
  }
}

const CLI = process.env.PEFT_TELEMETRY_CLI ?? resolve(__dirname, "../../../.venv/bin/peft-telemetry");

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

let child: ChildProcess | null = null;
let home = "";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  home = mkdtempSync(join(tmpdir(), "peft-ui-test-"));
  // DO_NOT_TRACK on the machine running the tests would pin consent off: the tests switch it themselves.
  const { DO_NOT_TRACK: _ignored, ...env } = process.env;
  child = spawn(CLI, ["--home", home, "serve", "--port", "0", "--no-browser"], { stdio: ["ignore", "pipe", "pipe"], env });
  const printed = await new Promise<string>((done, fail) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(new Error(`peft-telemetry serve printed no URL: ${out}${err}`)), 45_000);
    child!.stdout!.on("data", (chunk) => {
      out += String(chunk);
      const match = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        done(`${match[1]} ${match[2]}`);
      }
    });
    child!.stderr!.on("data", (chunk) => (err += String(chunk)));
    child!.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`peft-telemetry serve exited (${code}): ${err}`));
    });
  });
  const [url, token] = printed.split(" ");
  project.provide("service", { url, token, home, downUrl: `http://127.0.0.1:${await freePort()}` });
  return async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGINT");
      await new Promise((done) => {
        const timer = setTimeout(() => {
          child?.kill("SIGKILL");
          done(null);
        }, 10_000);
        child!.once("exit", () => {
          clearTimeout(timer);
          done(null);
        });
      });
    }
    rmSync(home, { recursive: true, force: true });
  };
}
