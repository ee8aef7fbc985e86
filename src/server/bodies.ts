// Request bodies: JSON for writes, JSON merge patch (and strategic merge patch, which kubectl
// sends for `label` and which is read as a merge patch here) for PATCH. Bodies are read as text
// under the route's byte limit (fastify refuses a larger one before reading it, from
// Content-Length, or as soon as a chunked body passes the limit) and parsed here, so a
// truncated body gets a Status naming where it broke.
import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.ts";

export const JSON_TYPE = "application/json";
export const MERGE_PATCH = "application/merge-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";

/** Body of a request with an empty payload (a DELETE without options). */
export const NO_BODY = Symbol("no body");

export function parseJsonText(text: string): unknown {
  if (text.trim() === "") return NO_BODY;
  try {
    return JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError("BadRequest", `body: not valid JSON (${why})`, {
      causes: [{ reason: "FieldValueInvalid", message: `not valid JSON: ${why}`, field: "body" }],
    });
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [JSON_TYPE, MERGE_PATCH, STRATEGIC_MERGE_PATCH],
    { parseAs: "string" },
    (_req, body, done) => {
      try {
        done(null, parseJsonText(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}

/** The media type of a request without its parameters (`; charset=utf-8`). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** The body of a write, which must be a JSON object. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === NO_BODY || body === undefined) {
    throw new ApiError("BadRequest", "body: required (a JSON object)", {
      causes: [{ reason: "FieldValueRequired", message: "required", field: "body" }],
    });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError("BadRequest", "body: must be a JSON object", {
      causes: [{ reason: "FieldValueInvalid", message: "must be a JSON object", field: "body" }],
    });
  }
  return body as Record<string, unknown>;
}

/** RFC 7386 JSON merge patch: objects merge key by key, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
