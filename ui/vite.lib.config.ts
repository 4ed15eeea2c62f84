// The npm package: ES modules with React as a peer (never bundled), and the stylesheet beside them.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
    lib: {
      entry: { index: here("src/index.ts") },
      formats: ["es"],
      cssFileName: "style",
    },
    rollupOptions: {
      external: [/^react($|\/)/, /^react-dom($|\/)/],
    },
  },
});
