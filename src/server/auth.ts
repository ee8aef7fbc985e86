// Bearer tokens: with a token configured, every request must carry `Authorization: Bearer
// <token>`, or it gets a 401 Status. Compared as SHA-256 digests in constant time, so neither
// the token's content nor its length leaks through timing. The web UI's static files are the
// one exception (src/server/ui.ts).
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.ts";
import { isUiAsset } from "./ui.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function registerBearerAuth(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook("onRequest", async (req) => {
    // The UI's files carry no data; its calls to the API carry the token.
    if (req.method === "GET" && isUiAsset(req.url)) return;
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1] as string), expected)) {
      throw new ApiError(
        "Unauthorized",
        match
          ? "Unauthorized: the bearer token is not valid"
          : "Unauthorized: a bearer token is required",
      );
    }
  });
}

/** Whether a listen host reaches only this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
