// The verbs on every registry kind: list (and watch), get, create, replace, merge patch, delete,
// each a thin step from the request to one Datastore call, its errors mapped to Status.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { DatastoreError, type ObjectRef, type StoredResource } from "../datastore/index.ts";
import {
  JSON_TYPE,
  MERGE_PATCH,
  mediaType,
  mergePatch,
  NO_BODY,
  objectBody,
  STRATEGIC_MERGE_PATCH,
} from "./bodies.ts";
import type { ServerContext } from "./context.ts";
import { ApiError, badRequest, fromStoreError } from "./errors.ts";
import { objectFromBody, requireName, servedAs } from "./objects.ts";
import { type ResourceTarget, resolveResourcePath } from "./paths.ts";
import { selectorsFrom } from "./selectors.ts";
import { negotiate, toTable } from "./tables.ts";
import { isWatch, serveWatch, type WatchQuery } from "./watch.ts";

type Query = WatchQuery;

function refOf(target: ResourceTarget, name: string): ObjectRef {
  return {
    kind: { apiVersion: target.info.apiVersion, kind: target.info.kind },
    ...(target.info.namespaced && target.namespace !== undefined
      ? { namespace: target.namespace }
      : {}),
    name,
  };
}

/**
 * Store calls with their errors as Status, naming the object the request is about and, for a
 * Conflict, the precondition field the request set.
 */
async function storeCall<T>(
  target: ResourceTarget,
  name: string | undefined,
  call: () => Promise<T>,
  preconditionField?: string,
) {
  try {
    return await call();
  } catch (error) {
    if (error instanceof DatastoreError) {
      throw fromStoreError(error, {
        kind: target.info.kind,
        group: target.info.group,
        ...(name ? { name } : {}),
        ...(preconditionField ? { preconditionField } : {}),
      });
    }
    throw error;
  }
}

const RESOURCE_VERSION = "metadata.resourceVersion";

function representation(req: FastifyRequest) {
  const r = negotiate(req.headers.accept);
  if (r === undefined) {
    throw new ApiError("NotAcceptable", "only application/json (and as=Table) is served");
  }
  return r;
}

async function list(ctx: ServerContext, req: FastifyRequest, target: ResourceTarget, q: Query) {
  const as = representation(req);
  const { info, gv } = target;
  const selectors = selectorsFrom(q);
  const result = await storeCall(target, undefined, () =>
    ctx.store.list({
      kind: { apiVersion: info.apiVersion, kind: info.kind },
      ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
      ...selectors.store,
    }),
  );
  const resourceVersion = String(result.revision);
  if (as !== "json") {
    return toTable(info, result.items, { version: as, resourceVersion, now: Date.now() });
  }
  return {
    apiVersion: gv.groupVersion,
    kind: `${info.kind}List`,
    metadata: { resourceVersion },
    items: result.items.map((r) => servedAs(gv, ctx.shown(r))),
  };
}

async function get(ctx: ServerContext, req: FastifyRequest, target: ResourceTarget) {
  const as = representation(req);
  const name = requireName(target);
  const object = await storeCall(target, name, () => ctx.store.get(refOf(target, name)));
  if (as !== "json") return toTable(target.info, [object], { version: as, now: Date.now() });
  return servedAs(target.gv, ctx.shown(object));
}

function requireJson(req: FastifyRequest): void {
  if (mediaType(req.headers["content-type"]) !== JSON_TYPE) {
    throw new ApiError(
      "UnsupportedMediaType",
      `Content-Type "${req.headers["content-type"] ?? ""}" is not ${JSON_TYPE}`,
    );
  }
}

/** Writes this server does not do rather than pretend to: a dry run must not change things. */
function refuseDryRun(q: Query): void {
  if (q.dryRun !== undefined) throw badRequest("dryRun", "dry runs are not supported");
}

async function create(ctx: ServerContext, req: FastifyRequest, target: ResourceTarget, q: Query) {
  if (target.info.namespaced && target.namespace === undefined) {
    throw new ApiError(
      "MethodNotAllowed",
      `${target.info.plural} are namespaced: POST to .../namespaces/{namespace}/${target.info.plural}`,
    );
  }
  requireJson(req);
  refuseDryRun(q);
  const { object, name } = objectFromBody(target, objectBody(req.body));
  const created = await storeCall(target, name, () => ctx.store.create(object));
  return servedAs(target.gv, created);
}

async function replace(ctx: ServerContext, req: FastifyRequest, target: ResourceTarget, q: Query) {
  const name = requireName(target);
  requireJson(req);
  refuseDryRun(q);
  const { object, resourceVersion } = objectFromBody(target, objectBody(req.body));
  const pinned = resourceVersion !== undefined ? RESOURCE_VERSION : undefined;
  const updated = await storeCall(target, name, () => ctx.store.update(object), pinned);
  return servedAs(target.gv, updated);
}

/** Attempts of a patch without a resourceVersion that lost a race to another writer. */
const PATCH_ATTEMPTS = 5;

async function patch(ctx: ServerContext, req: FastifyRequest, target: ResourceTarget, q: Query) {
  const name = requireName(target);
  const type = mediaType(req.headers["content-type"]);
  if (type !== MERGE_PATCH && type !== STRATEGIC_MERGE_PATCH) {
    throw new ApiError(
      "UnsupportedMediaType",
      `PATCH takes ${MERGE_PATCH} or ${STRATEGIC_MERGE_PATCH}, not "${req.headers["content-type"] ?? ""}"`,
    );
  }
  refuseDryRun(q);
  const body = objectBody(req.body);
  const pinned = (body.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  for (let attempt = 1; ; attempt++) {
    const current = await storeCall(target, name, () => ctx.store.get(refOf(target, name)));
    const merged = mergePatch(servedAs(target.gv, current), body) as Record<string, unknown>;
    const { object } = objectFromBody(target, merged);
    try {
      return servedAs(target.gv, await ctx.store.update(object));
    } catch (error) {
      const raced = error instanceof DatastoreError && error.code === "Conflict";
      if (!raced || pinned !== undefined || attempt >= PATCH_ATTEMPTS) {
        throw error instanceof DatastoreError
          ? fromStoreError(error, {
              kind: target.info.kind,
              group: target.info.group,
              name,
              ...(pinned !== undefined ? { preconditionField: RESOURCE_VERSION } : {}),
            })
          : error;
      }
    }
  }
}

interface DeleteOptions {
  preconditions?: { resourceVersion?: string; uid?: string };
}

function deleteOptions(body: unknown): DeleteOptions {
  if (body === NO_BODY || body === undefined) return {};
  const opts = objectBody(body) as DeleteOptions;
  const pre = opts.preconditions;
  if (pre !== undefined && (typeof pre !== "object" || pre === null)) {
    throw badRequest("preconditions", "must be an object");
  }
  for (const field of ["resourceVersion", "uid"] as const) {
    if (pre?.[field] !== undefined && typeof pre[field] !== "string") {
      throw badRequest(`preconditions.${field}`, "must be a string");
    }
  }
  return opts;
}

async function remove(ctx: ServerContext, req: FastifyRequest, target: ResourceTarget, q: Query) {
  const name = requireName(target);
  refuseDryRun(q);
  const pre = deleteOptions(req.body).preconditions ?? {};
  const ref = refOf(target, name);
  let resourceVersion = pre.resourceVersion;
  if (pre.uid !== undefined) {
    // The store checks resourceVersion atomically; a uid is checked on the version read here,
    // which the delete then pins.
    const current = await storeCall(target, name, () => ctx.store.get(ref));
    if (current.metadata.uid !== pre.uid) {
      throw new ApiError(
        "Conflict",
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ""}`,
        { kind: target.info.kind, name },
      );
    }
    resourceVersion ??= current.metadata.resourceVersion;
  }
  const deleted: StoredResource = await storeCall(
    target,
    name,
    () => ctx.store.delete(ref, resourceVersion !== undefined ? { resourceVersion } : undefined),
    resourceVersion !== undefined ? "preconditions.resourceVersion" : undefined,
  );
  return servedAs(target.gv, deleted);
}

async function serve(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply) {
  const path = req.url.split("?")[0] ?? "";
  const target = resolveResourcePath(path);
  const q = req.query as Query;
  const collection = target.name === undefined;
  const label = (verb: string) => {
    req.metricLabels = { verb, resource: target.info.plural };
  };
  switch (req.method) {
    case "GET":
      if (collection && isWatch(q)) {
        label("watch");
        return serveWatch(ctx, req, reply, target, q);
      }
      label(collection ? "list" : "get");
      return collection ? list(ctx, req, target, q) : get(ctx, req, target);
    case "POST":
      label("create");
      if (!collection) {
        throw new ApiError("MethodNotAllowed", `POST goes to the collection ${target.info.plural}`);
      }
      reply.code(201);
      return create(ctx, req, target, q);
    case "PUT":
      label("update");
      return replace(ctx, req, target, q);
    case "PATCH":
      label("patch");
      return patch(ctx, req, target, q);
    case "DELETE":
      label("delete");
      if (collection) {
        throw new ApiError("MethodNotAllowed", "deleting a whole collection is not served");
      }
      return remove(ctx, req, target, q);
    default:
      throw new ApiError("MethodNotAllowed", `${req.method} is not served`);
  }
}

export function registerResourceRoutes(app: FastifyInstance, ctx: ServerContext): void {
  for (const url of ["/api/*", "/apis/*"]) {
    app.route({
      method: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      url,
      bodyLimit: ctx.limits.objectBytes,
      handler: (req, reply) => serve(ctx, req, reply),
    });
  }
}
