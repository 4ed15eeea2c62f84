// `peft-telemetry` commands for a test file that needs a service of its own (a demo history, an empty
// log): run a command on a data home, and start `peft-telemetry serve --port 0` there until stopped.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";

const CLI = process.env.PEFT_TELEMETRY_CLI ?? resolve(__dirname, "../../../.venv/bin/peft-telemetry");
const ENV = { ...process.env, DO_NOT_TRACK: "" };

export interface OwnService {
  url: string;
  token: string;
  home: string;
  stop: () => Promise<void>;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), "peft-ui-own-"));
}

export function runCli(home: string, ...args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile(CLI, ["--home", home, ...args], { env: ENV, timeout: 120_000 }, (err, stdout, stderr) =>
      err ? fail(new Error(`peft-telemetry ${args.join(" ")} failed: ${stdout}${stderr}`)) : done(stdout),
    );
  });
}

/** The Python of the venv the CLI belongs to (for tests that need the project's own functions). */
export const PYTHON = join(dirname(CLI), "python");

/** Sharing sends within a second, not after the default settle time and interval (as tests/fleet does). */
export const SHARE_ENV = { PEFT_TELEMETRY_SHARE_SETTLE_S: "0.3", PEFT_TELEMETRY_SHARE_INTERVAL_S: "0.2" };

/** `peft-telemetry serve --port 0` on `home`; stop() ends it (SIGINT, as a user does) and removes the home. */
export function serveHome(home: string, env: Record<string, string> = {}): Promise<OwnService> {
  const child = spawn(CLI, ["--home", home, "serve", "--port", "0", "--no-browser"], { stdio: ["ignore", "pipe", "pipe"], env: { ...ENV, ...env } });
  const stop = async () => {
    await stopChild(child, "SIGINT");
    rmSync(home, { recursive: true, force: true });
  };
  return new Promise((done, fail) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(new Error(`peft-telemetry serve printed no URL: ${out}${err}`)), 45_000);
    child.stdout!.on("data", (chunk) => {
      out += String(chunk);
      const match = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        done({ url: match[1], token: match[2], home, stop });
      }
    });
    child.stderr!.on("data", (chunk) => (err += String(chunk)));
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`peft-telemetry serve exited (${code}): ${err}`));
    });
  });
}

export interface Hub {
  /** The URL installs share to, as `peft-telemetry hub` printed it (its last segment is the credential). */
  endpoint: string;
  lake: string;
  stop: () => Promise<void>;
}

/** Ends a child as a user would (``signal``), or with SIGKILL if it is still running 10 s later. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill(signal);
  await new Promise((done) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done(null);
    }, 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      done(null);
    });
  });
}

/** A port where nothing listens (now). */
export function freePort(): Promise<number> {
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

/** A real `peft-telemetry hub` over a lake of its own, until stopped (which removes the lake). */
export async function startHub(): Promise<Hub> {
  const root = tempHome();
  const lake = join(root, "lake");
  const port = await freePort();
  const child = spawn(CLI, ["--home", join(root, "home"), "hub", "--lake", lake, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"], env: ENV,
  });
  const stop = async () => {
    await stopChild(child, "SIGTERM");
    rmSync(root, { recursive: true, force: true });
  };
  const endpoint = await new Promise<string>((done, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`peft-telemetry hub printed no endpoint: ${out}`)), 45_000);
    const read = (chunk: unknown) => {
      out += String(chunk);
      const match = /^endpoint: (\S+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        done(match[1]);
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`peft-telemetry hub exited (${code}): ${out}`));
    });
  });
  // The hub prints its endpoint before it listens: wait until it answers.
  const base = new URL(endpoint).origin;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { endpoint, lake, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("peft-telemetry hub did not answer /healthz");
}
