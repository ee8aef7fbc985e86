// Staged policies as what they would enforce: the object promoting one writes (its kind without
// "Staged", the same metadata, the spec without stagedAction), and the resource set as it would
// be with every staged change applied (Set replaces or adds, Delete removes), which lint judges.
import { type Resource, resourceKey, validResource } from "../model/index.ts";

const ENFORCED = {
  StagedNetworkPolicy: "NetworkPolicy",
  StagedGlobalNetworkPolicy: "GlobalNetworkPolicy",
  StagedKubernetesNetworkPolicy: "NetworkPolicy",
} as const;

type StagedKind = keyof typeof ENFORCED;
const isStaged = (r: Resource): r is Extract<Resource, { kind: StagedKind }> => r.kind in ENFORCED;

/** The enforced object's apiVersion, kind and metadata: the key a staged change targets. */
function target(r: Extract<Resource, { kind: StagedKind }>) {
  return {
    apiVersion: r.kind === "StagedKubernetesNetworkPolicy" ? "networking.k8s.io/v1" : r.apiVersion,
    kind: ENFORCED[r.kind],
    metadata: r.metadata,
  };
}

/** What promoting a staged `Set` policy enforces; other objects are returned as they are. */
export function promote(staged: Resource): Resource {
  if (!isStaged(staged)) return staged;
  const { stagedAction: _, ...spec } = staged.spec;
  return validResource({ ...target(staged), spec });
}

export interface StagedApplied {
  /** The set with every staged change applied; the staged objects themselves left out. */
  readonly resources: Resource[];
  /** Each promoted object and the staged object it came from. */
  readonly origins: Map<Resource, Resource>;
}

/** The set as it would be with its staged changes applied; undefined when it has none. */
export function applyStaged(resources: readonly Resource[]): StagedApplied | undefined {
  const staged = resources.filter(isStaged);
  if (staged.length === 0) return undefined;
  const byKey = new Map<string, Resource>(
    resources.filter((r) => !isStaged(r)).map((r) => [resourceKey(r), r]),
  );
  const origins = new Map<Resource, Resource>();
  for (const s of staged) {
    const key = resourceKey(target(s));
    byKey.delete(key);
    if (s.spec.stagedAction === "Delete") continue;
    const promoted = promote(s);
    byKey.set(key, promoted);
    origins.set(promoted, s);
  }
  return { resources: [...byKey.values()], origins };
}
