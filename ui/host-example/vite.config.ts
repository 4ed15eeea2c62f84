// Bundles the host-app example with real React, taking the UI package from its build (ui/dist), as an
// app that installed it from npm would. Run `npm run build:lib` first.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  resolve: {
    alias: [
      { find: /^@peft-studio\/telemetry-ui\/style\.css$/, replacement: here("../dist/style.css") },
      { find: /^@peft-studio\/telemetry-ui$/, replacement: here("../dist/index.js") },
    ],
  },
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: false,
  },
});
