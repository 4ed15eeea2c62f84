// `peft-telemetry` commands for a test file that needs a service of its own (a demo history, an empty
// log): run a command on a data home, and start `peft-telemetry serve --port 0` there until stopped.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

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

/** `peft-telemetry serve --port 0` on `home`; stop() ends it (SIGINT, as a user does) and removes the home. */
export function serveHome(home: string): Promise<OwnService> {
  const child = spawn(CLI, ["--home", home, "serve", "--port", "0", "--no-browser"], { stdio: ["ignore", "pipe", "pipe"], env: ENV });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGINT");
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
