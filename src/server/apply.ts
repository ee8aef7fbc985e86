// `POST /apis/microseg.io/v1/apply`: a whole manifest set (a List, or an array of objects) as
// ONE store transaction. The store validates every object first and reports every problem at
// once (`items[3].spec.tier`), then applies all of them or none.
import type { FastifyInstance } from "fastify";
import { DatastoreError, type WriteInput } from "../datastore/index.ts";
import { MICROSEG_V1 } from "../model/index.ts";
import { objectBody } from "./bodies.ts";
import type { ServerContext } from "./context.ts";
import { ApiError, fromStoreError } from "./errors.ts";

export const APPLY_PATH = `/apis/${MICROSEG_V1}/apply`;

/** A whole-set body's objects: a List's items, or an array (apply and simulate take both). */
export function itemsOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const list = objectBody(body);
  if (list.kind !== "List" || !Array.isArray(list.items)) {
    throw new ApiError("BadRequest", "body: must be a List (kind: List, items) or an array", {
      causes: [
        { reason: "FieldValueInvalid", message: "must be a List or an array", field: "items" },
      ],
    });
  }
  return list.items;
}

export function registerApplyRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post(APPLY_PATH, { bodyLimit: ctx.limits.applyBytes }, async (req) => {
    req.metricLabels = { verb: "apply", resource: "" };
    // The store validates the set (the one validation of a write): every bad item reported.
    const items = itemsOf(req.body) as WriteInput[];
    try {
      const result = await ctx.store.apply(items);
      return {
        apiVersion: MICROSEG_V1,
        kind: "ApplyResult",
        metadata: { resourceVersion: String(result.revision) },
        revision: result.revision,
        results: result.results.map(({ object, action }) => ({
          apiVersion: object.apiVersion,
          kind: object.kind,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
          name: object.metadata.name,
          resourceVersion: object.metadata.resourceVersion,
          action,
        })),
      };
    } catch (error) {
      if (error instanceof DatastoreError) throw fromStoreError(error, { kind: "List" });
      throw error;
    }
  });
}
