// Kinds as a store addresses them: a KindRef resolved through the registry (projectcalico.org/v3
// is microseg.io/v1), and the `group/Kind` text that prefixes every resource key.
import { type KindInfo, lookupKind, type Resource } from "../model/index.ts";
import { DatastoreError, type KindRef, type ObjectRef } from "./types.ts";

export function kindInfo(ref: KindRef): KindInfo {
  const info = lookupKind(ref.apiVersion, ref.kind);
  if (!info) {
    throw new DatastoreError(
      "Invalid",
      `unknown kind "${ref.kind}" in apiVersion "${ref.apiVersion}"`,
      [{ code: "manifest.kind", path: "kind", message: "not a kind this store holds" }],
    );
  }
  return info;
}

/** `group/Kind`, the first two parts of resourceKey (`core/Pod`, `microseg.io/Tier`). */
export function kindId(info: Pick<KindInfo, "group" | "kind">): string {
  return `${info.group === "" ? "core" : info.group}/${info.kind}`;
}

/** `Kind ns/name` or `Kind name`, how errors name an object. */
export function describeObject(r: {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined };
}): string {
  const ns = r.metadata.namespace;
  return `${r.kind} ${ns ? `${ns}/` : ""}${r.metadata.name}`;
}

export interface ResolvedRef {
  readonly info: KindInfo;
  /** "" for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  /** The resource key (`resourceKey`) of the object. */
  readonly key: string;
}

export function resolveRef(ref: ObjectRef): ResolvedRef {
  const info = kindInfo(ref.kind);
  const namespace = info.namespaced ? (ref.namespace ?? "") : "";
  if (info.namespaced && namespace === "") {
    throw new DatastoreError("Invalid", `${info.kind} ${ref.name}: a namespace is required`, [
      { code: "manifest.field", path: "metadata.namespace", message: "required" },
    ]);
  }
  return { info, namespace, name: ref.name, key: `${kindId(info)}/${namespace}/${ref.name}` };
}

export function refOf(r: Resource): ObjectRef {
  const ns = r.metadata.namespace;
  return {
    kind: { apiVersion: r.apiVersion, kind: r.kind },
    name: r.metadata.name,
    ...(ns ? { namespace: ns } : {}),
  };
}

/** NotFound for `r`, naming it as errors do. */
export function notFound(r: ResolvedRef): DatastoreError {
  const name = describeObject({
    kind: r.info.kind,
    metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
  });
  return new DatastoreError("NotFound", `${name} not found`, [], name);
}
