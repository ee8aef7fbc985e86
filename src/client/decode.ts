// Objects from the server are validated by their kind's schema like any other input: what the
// client hands on is a typed Resource or an error naming what was wrong, never a cast.
import type { z } from "zod";
import type { KindRef, StoredResource } from "../datastore/index.ts";
import { parseResource } from "../model/index.ts";
import { ApiError } from "./errors.ts";

export function invalidAnswer(what: string, detail: string): ApiError {
  return new ApiError("Unavailable", 502, "InvalidResponse", `the server sent ${what}: ${detail}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One object; `kind` fills in apiVersion and kind where a list's items leave them out. */
export function decodeResource(value: unknown, kind?: KindRef): StoredResource {
  const object = isRecord(value) && kind ? { ...kind, ...value } : value;
  const result = parseResource(object);
  if (result.ok) return result.value;
  const issue = result.issues[0];
  const where = issue?.path ? `${issue.path}: ` : "";
  throw invalidAnswer("an invalid object", `${where}${issue?.message ?? "unknown problem"}`);
}

/** `metadata.resourceVersion` of a list, a watch event's object or a bookmark, as a number. */
export function revisionOf(value: unknown, what: string): number {
  const metadata = isRecord(value) ? value.metadata : undefined;
  const rv = isRecord(metadata) ? metadata.resourceVersion : undefined;
  const n = typeof rv === "string" ? Number(rv) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidAnswer(what, `metadata.resourceVersion ${JSON.stringify(rv)} is not a revision`);
  }
  return n;
}

/** A `*List`: its items decoded and the revision it was read at. */
export function decodeList(
  value: unknown,
  kind?: KindRef,
): { items: StoredResource[]; revision: number } {
  if (!isRecord(value) || !Array.isArray(value.items)) {
    throw invalidAnswer("a list without items", JSON.stringify(value).slice(0, 100));
  }
  return {
    items: value.items.map((item) => decodeResource(item, kind)),
    revision: revisionOf(value, "a list"),
  };
}

/** A value of a wire schema (flow records, alerts), or an error naming the first bad field. */
export function decodeWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  throw invalidAnswer(`an invalid ${what}`, `${where}${issue?.message ?? "unknown problem"}`);
}
