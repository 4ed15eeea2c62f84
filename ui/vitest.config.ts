// Component tests: React + Testing Library in jsdom, against a real `peft-telemetry serve` started by the
// global setup on a free 127.0.0.1 port with a fresh data home.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "jsdom",
    globalSetup: ["./test/setup/service.ts"],
    setupFiles: ["./test/setup/dom.ts"],
    include: ["test/**/*.test.tsx"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
