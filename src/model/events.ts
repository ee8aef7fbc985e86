// The one resource key and the one change event every stage speaks: the datastore emits them,
// sources carry them, the engine consumes them.
import { apiGroupOf, type Resource } from "./registry.ts";

/** What identifies an object: its type and name. Raw manifests qualify, not only parsed ones. */
export interface ResourceIdentity {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined };
}

/**
 * `group/Kind/namespace/name`, the identity stores key objects by. The core group is written
 * `core`, projectcalico.org is microseg.io (the same kinds), and cluster-scoped objects have an
 * empty namespace: `microseg.io/Tier//security`.
 */
export function resourceKey(r: ResourceIdentity): string {
  const group = apiGroupOf(r.apiVersion) || "core";
  const canonical = group === "projectcalico.org" ? "microseg.io" : group;
  // Joined, not concatenated: the engine keeps every key (100k pods), and V8 keeps a
  // concatenation as a tree of its parts, a flat string as one (0.1 KiB per pod less).
  return [canonical, r.kind, r.metadata.namespace ?? "", r.metadata.name].join("/");
}

/** A change to one object. `revision` is the store's revision that made it, when it has one. */
export type ResourceEvent =
  | { readonly type: "upsert"; readonly resource: Resource; readonly revision?: number }
  | { readonly type: "delete"; readonly key: string; readonly revision?: number };
