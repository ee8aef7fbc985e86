// `POST /apis/microseg.io/v1/apply`: a whole manifest set (a List, or an array of objects) as
// ONE store transaction. Every object is validated first and every problem reported at once
// (`items[3].spec.tier`); then the store applies all of them or none.
import type { FastifyInstance } from "fastify";
import { DatastoreError } from "../datastore/index.ts";
import { MICROSEG_V1, parseResource, type Resource, resourceKey } from "../model/index.ts";
import { objectBody } from "./bodies.ts";
import type { ServerContext } from "./context.ts";
import { ApiError, causeOf, fromStoreError, type StatusCause } from "./errors.ts";

export const APPLY_PATH = `/apis/${MICROSEG_V1}/apply`;

function itemsOf(body: unknown): unknown[] {
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

/** Validates every item; all problems at once, each cause's field prefixed `items[i]`. */
function parseSet(items: readonly unknown[]): Resource[] {
  const causes: StatusCause[] = [];
  const resources: Resource[] = [];
  const firstIndex = new Map<string, number>();
  items.forEach((item, i) => {
    const parsed = parseResource(item);
    if (!parsed.ok) {
      for (const issue of parsed.issues) {
        const cause = causeOf(issue);
        const field = cause.field ? `items[${i}].${cause.field}` : `items[${i}]`;
        causes.push({ ...cause, field, message: `${field}: ${issue.message}` });
      }
      return;
    }
    const key = resourceKey(parsed.value);
    const earlier = firstIndex.get(key);
    if (earlier !== undefined) {
      const message = `items[${i}]: ${parsed.value.kind} ${parsed.value.metadata.name} appears again (first at items[${earlier}])`;
      causes.push({ reason: "FieldValueDuplicate", message, field: `items[${i}].metadata.name` });
      return;
    }
    firstIndex.set(key, i);
    resources.push(parsed.value);
  });
  if (causes.length > 0) {
    throw new ApiError("Invalid", `List is invalid: ${causes.map((c) => c.message).join("; ")}`, {
      kind: "List",
      causes,
    });
  }
  return resources;
}

/** A store error about one object of the set, its causes' fields prefixed with its index. */
function inSet(api: ApiError, error: DatastoreError, resources: readonly Resource[]): ApiError {
  const index = resources.findIndex((r) => {
    const ns = r.metadata.namespace;
    return error.object === `${r.kind} ${ns ? `${ns}/` : ""}${r.metadata.name}`;
  });
  const causes = api.details?.causes;
  if (index < 0 || !causes) return api;
  const prefixed = causes.map((c) => {
    const field = c.field ? `items[${index}].${c.field}` : `items[${index}]`;
    return { ...c, field, message: `${field}: ${c.message.replace(/^[^:]*: /, "")}` };
  });
  return new ApiError(api.code, `${error.object}: ${api.message}`, {
    ...api.details,
    causes: prefixed,
  });
}

export function registerApplyRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post(APPLY_PATH, { bodyLimit: ctx.limits.applyBytes }, async (req) => {
    req.metricLabels = { verb: "apply", resource: "" };
    const resources = parseSet(itemsOf(req.body));
    try {
      const result = await ctx.store.apply(resources);
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
      if (error instanceof DatastoreError)
        throw inSet(fromStoreError(error, { kind: "List" }), error, resources);
      throw error;
    }
  });
}
