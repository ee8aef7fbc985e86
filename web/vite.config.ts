// The web UI's build: one page under /ui/ (where the API server serves it), every script,
// style and font bundled so the page makes no request beyond its own server.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Everything inline or bundled: the UI must work on a machine without outside access.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
  },
});
