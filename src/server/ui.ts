// The web UI (web/, built by Vite into web/dist) served at /ui/, `/` redirecting there. The
// assets hold no data: every view reads the API with the same token as any client, so they are
// served without one (a browser cannot send a bearer header when it loads a page).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.ts";

export const UI_PREFIX = "/ui/";
/** Where `npm run build:web` (and the install step, scripts/ensure-deps.mjs) puts the UI. */
export const UI_DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "web", "dist");

/** Whether a request is for the UI's own files, which need no token. */
export function isUiAsset(url: string): boolean {
  return url === "/" || url === "/ui" || url.startsWith(UI_PREFIX);
}

export function registerUi(app: FastifyInstance, dist = UI_DIST): void {
  app.get("/", async (_req, reply) => reply.redirect(UI_PREFIX));
  app.get("/ui", async (_req, reply) => reply.redirect(UI_PREFIX));
  if (!existsSync(join(dist, "index.html"))) {
    app.get(`${UI_PREFIX}*`, async () => {
      throw new ApiError(
        "ServiceUnavailable",
        "the web UI is not built: run `npm run build:web` (npm start's install step builds it)",
      );
    });
    return;
  }
  app.register(fastifyStatic, { root: dist, prefix: UI_PREFIX, index: "index.html" });
}
