// From a request to the object a write hands the store, and back: the body must name the kind
// the path names (apiVersion of either alias for the Calico kinds), and its namespace and name
// must agree with the path. The kind's schema is the store's to check: every write is validated
// once, there. Objects go out under the apiVersion of the group version they were asked for.
import type { WriteInput } from "../datastore/index.ts";
import { lookupKind, type Resource } from "../model/index.ts";
import { ApiError, badRequest } from "./errors.ts";
import type { GroupVersion, ResourceTarget } from "./paths.ts";

/** The object as served under `gv`: projectcalico.org/v3 shows Calico's apiVersion. */
export function servedAs<R extends Resource>(gv: GroupVersion, r: R): R {
  return r.apiVersion === gv.groupVersion ? r : { ...r, apiVersion: gv.groupVersion as never };
}

function metadataOf(body: Record<string, unknown>): Record<string, unknown> {
  const m = body.metadata;
  return typeof m === "object" && m !== null && !Array.isArray(m)
    ? (m as Record<string, unknown>)
    : {};
}

/** What a write body says about its object, before the store has validated it. */
export interface BodyObject {
  readonly object: WriteInput;
  readonly name: string | undefined;
  readonly resourceVersion: unknown;
}

/**
 * Checks the body against the path. A body without a namespace takes the path's; without
 * apiVersion and kind (rare, but kubectl never omits them) it is refused.
 */
export function objectFromBody(target: ResourceTarget, body: Record<string, unknown>): BodyObject {
  const { info } = target;
  const apiVersion = body.apiVersion;
  const kind = body.kind;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    throw badRequest(
      typeof apiVersion !== "string" ? "apiVersion" : "kind",
      `required (${target.gv.groupVersion} ${info.kind})`,
    );
  }
  const bodyKind = lookupKind(apiVersion, kind);
  if (bodyKind !== info) {
    const field = kind !== info.kind ? "kind" : "apiVersion";
    throw badRequest(
      field,
      `the body's ${apiVersion} ${kind} does not match the path's ${target.gv.groupVersion} ${info.kind}`,
    );
  }
  const meta = metadataOf(body);
  let doc = body;
  if (info.namespaced && target.namespace !== undefined) {
    if (meta.namespace === undefined) {
      doc = { ...body, metadata: { ...meta, namespace: target.namespace } };
    } else if (meta.namespace !== target.namespace) {
      throw badRequest(
        "metadata.namespace",
        `"${String(meta.namespace)}" does not match the namespace of the request "${target.namespace}"`,
      );
    }
  }
  if (target.name !== undefined && meta.name !== undefined && meta.name !== target.name) {
    throw badRequest(
      "metadata.name",
      `"${String(meta.name)}" does not match the name in the path "${target.name}"`,
    );
  }
  const name = typeof meta.name === "string" ? meta.name : target.name;
  return { object: doc, name, resourceVersion: meta.resourceVersion };
}

export function requireName(target: ResourceTarget): string {
  if (target.name === undefined) {
    throw new ApiError("MethodNotAllowed", `${target.info.plural}: this verb needs an object name`);
  }
  return target.name;
}
