// The page `peft-telemetry serve` shows, built into the Python package (telemetry/web/static), committed,
// so that a pip user needs no Node.js. The same components as the library, rendered by preact/compat:
// React's own renderer alone is larger than the page's whole budget.
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The server serves the page at / and /dashboard and its files under static/: point the HTML there. */
function staticPaths(): Plugin {
  return {
    name: "peft-static-paths",
    enforce: "post",
    generateBundle(_options, bundle) {
      const page = bundle["index.html"];
      if (page && page.type === "asset") {
        page.source = String(page.source).replace(/(src|href)="\.\/([a-z0-9_.-]+)"/g, '$1="static/$2"');
      }
    },
  };
}

export default defineConfig({
  root: here("src/page"),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  resolve: {
    alias: [
      { find: /^react-dom\/client$/, replacement: "preact/compat/client" },
      { find: /^react-dom$/, replacement: "preact/compat" },
      { find: /^react\/jsx-runtime$/, replacement: "preact/jsx-runtime" },
      { find: /^react$/, replacement: "preact/compat" },
    ],
  },
  plugins: [staticPaths()],
  build: {
    // PEFT_UI_PAGE_OUT: build elsewhere, e.g. to compare with the committed build (scripts/check-ui-build.sh).
    outDir: process.env.PEFT_UI_PAGE_OUT || here("../telemetry/web/static"),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        index: here("src/page/index.html"),
        // Separate entries so the browser tests can import the formatting and axis functions the page uses.
        format: here("src/format.ts"),
        charts: here("src/charts/draw.ts"),
      },
      preserveEntrySignatures: "exports-only",
      output: {
        entryFileNames: (chunk) => (chunk.name === "index" ? "app.js" : "[name].js"),
        chunkFileNames: "[name].js",
        assetFileNames: (asset) => ((asset.names?.[0] ?? "").endsWith(".css") ? "style.css" : "[name][extname]"),
      },
    },
  },
});
