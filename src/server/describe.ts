// `GET|POST /api/v1/describe?apiVersion=&kind=&namespace=&name=`: src/analysis/describe.ts over
// the live store, the same function the UI will call: the object read from the store, judged in
// the world of the current snapshot.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { describeIn } from "../analysis/index.ts";
import { DatastoreError } from "../datastore/index.ts";
import { lookupKind } from "../model/index.ts";
import type { WorldCache } from "./analysis.ts";
import type { ServerContext } from "./context.ts";
import { badRequest, fromStoreError } from "./errors.ts";

function param(req: FastifyRequest, field: string): string | undefined {
  const source = (req.method === "POST" ? req.body : req.query) as Record<string, unknown> | null;
  const v = source?.[field];
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string") throw badRequest(field, "must be a string");
  return v;
}

function required(req: FastifyRequest, field: string): string {
  const v = param(req, field);
  if (v === undefined) throw badRequest(field, "required");
  return v;
}

export function registerDescribeRoute(
  app: FastifyInstance,
  ctx: ServerContext,
  worlds: WorldCache,
): void {
  const describe = async (req: FastifyRequest) => {
    req.metricLabels = { verb: "describe", resource: "" };
    const apiVersion = required(req, "apiVersion");
    const kind = required(req, "kind");
    const name = required(req, "name");
    const info = lookupKind(apiVersion, kind);
    if (!info) throw badRequest("kind", `unknown kind "${kind}" in apiVersion "${apiVersion}"`);
    const namespace = info.namespaced ? required(req, "namespace") : undefined;
    const ref = { kind: { apiVersion: info.apiVersion, kind: info.kind }, namespace, name };
    const object = await ctx.store.get(ref).catch((error: unknown) => {
      if (error instanceof DatastoreError) throw fromStoreError(error, { kind: info.kind, name });
      throw error;
    });
    const { world } = await worlds.current();
    return describeIn(world, object);
  };
  app.get("/api/v1/describe", describe);
  app.post("/api/v1/describe", describe);
}
