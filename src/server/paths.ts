// Kubernetes-shaped paths, all derived from the kind registry: core kinds under /api/v1, the
// others under /apis/{group}/{version}; projectcalico.org/v3 serves the microseg.io/v1 kinds
// under Calico's name. One pure resolver turns a path into (kind, namespace, name).
import { CALICO_V3, KINDS, type KindInfo, MICROSEG_V1 } from "../model/index.ts";
import { ApiError } from "./errors.ts";

export interface GroupVersion {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** `v1`, `networking.k8s.io/v1`: the apiVersion objects are served with. */
  readonly groupVersion: string;
  readonly kinds: readonly KindInfo[];
  /** Another name for kinds that live under their own group version (projectcalico.org/v3). */
  readonly alias: boolean;
}

function groupVersionOf(apiVersion: string, kinds: readonly KindInfo[]): GroupVersion {
  const slash = apiVersion.indexOf("/");
  return {
    group: slash < 0 ? "" : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    groupVersion: apiVersion,
    kinds,
    alias: kinds.some((k) => k.apiVersion !== apiVersion),
  };
}

/**
 * Every group version served, in discovery order: kubectl resolves an ambiguous plural
 * (`networkpolicies`) to the first group listing it, so the Kubernetes groups come first, as
 * in a cluster running Calico.
 */
export const GROUP_VERSIONS: readonly GroupVersion[] = (() => {
  const byApiVersion = new Map<string, KindInfo[]>();
  for (const k of KINDS) {
    const list = byApiVersion.get(k.apiVersion) ?? [];
    list.push(k);
    byApiVersion.set(k.apiVersion, list);
  }
  const served = [...byApiVersion].map(([apiVersion, kinds]) => groupVersionOf(apiVersion, kinds));
  const microseg = byApiVersion.get(MICROSEG_V1) ?? [];
  return [...served, groupVersionOf(CALICO_V3, microseg)];
})();

export const CORE = GROUP_VERSIONS.find((gv) => gv.group === "") as GroupVersion;

export function findGroupVersion(group: string, version: string): GroupVersion | undefined {
  return GROUP_VERSIONS.find((gv) => gv.group === group && gv.version === version);
}

/** What a resource path names: a collection (no name) or one object. */
export interface ResourceTarget {
  readonly gv: GroupVersion;
  readonly info: KindInfo;
  /** The namespace in the path; absent for cluster-scoped kinds and all-namespace lists. */
  readonly namespace?: string;
  readonly name?: string;
}

function notFound(path: string): ApiError {
  return new ApiError("NotFound", `the server could not find the requested resource (${path})`);
}

/**
 * `/api/v1/namespaces/prod/pods/web`, `/apis/microseg.io/v1/globalnetworkpolicies`: the kind,
 * namespace and name. Throws NotFound for anything the registry does not serve.
 */
export function resolveResourcePath(path: string): ResourceTarget {
  const segments = path.split("/").filter((s) => s !== "");
  let gv: GroupVersion | undefined;
  let rest: string[];
  if (segments[0] === "api" && segments[1] === CORE.version) {
    gv = CORE;
    rest = segments.slice(2);
  } else if (segments[0] === "apis" && segments.length >= 3) {
    gv = findGroupVersion(segments[1] as string, segments[2] as string);
    rest = segments.slice(3);
  } else throw notFound(path);
  if (!gv) throw notFound(path);

  const byPlural = (plural: string | undefined) => gv.kinds.find((k) => k.plural === plural);
  const decoded = rest.map((s) => decodeURIComponent(s));
  const [first, second, third, fourth, ...more] = decoded;
  if (more.length > 0) throw notFound(path);
  // namespaces/{ns}/{plural}[/{name}]: a namespaced collection or object.
  if (first === "namespaces" && third !== undefined) {
    const info = byPlural(third);
    if (!info?.namespaced) throw notFound(path);
    return { gv, info, namespace: second as string, ...(fourth ? { name: fourth } : {}) };
  }
  // {plural}[/{name}]: a cluster-scoped collection or object, or every namespace's list.
  if (fourth !== undefined || third !== undefined) throw notFound(path);
  const info = byPlural(first);
  if (!info || (info.namespaced && second !== undefined)) throw notFound(path);
  return { gv, info, ...(second !== undefined ? { name: second } : {}) };
}

/** The path of one object, as selfLink once was: for messages and Location headers. */
export function objectPath(gv: GroupVersion, info: KindInfo, name: string, namespace?: string) {
  const base = gv.group === "" ? `/api/${gv.version}` : `/apis/${gv.groupVersion}`;
  const ns = info.namespaced && namespace ? `/namespaces/${namespace}` : "";
  return `${base}${ns}/${info.plural}/${name}`;
}
