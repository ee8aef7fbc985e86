// Validation of a whole set of objects: each object by its kind's schema, then the rules that
// need the set (no object twice, references that must resolve). One function for every writer:
// offline loading and the API server's writes judge objects the same way.
import { CALICO_BUILTIN_TIERS } from "./calico-policy.ts";
import { NAMESPACE_NAME_LABEL } from "./core.ts";
import type { ResourceIssue } from "./errors.ts";
import { resourceKey } from "./events.ts";
import type { Resource } from "./registry.ts";
import { parseResource } from "./resource.ts";

/** A problem with the object at `index` of the set. */
export interface SetIssue extends ResourceIssue {
  readonly index: number;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** For duplicates: the index of the first object with the same key. */
  readonly firstIndex?: number;
}

/** Something accepted but worth saying, such as a namespace implied by its objects. */
export interface SetWarning {
  readonly code: "manifest.implied-namespace" | "manifest.skipped-kind";
  readonly message: string;
}

export type ValidationResult =
  | {
      readonly ok: true;
      readonly resources: Resource[];
      readonly warnings: readonly SetWarning[];
    }
  | { readonly ok: false; readonly issues: readonly SetIssue[] };

const POLICY_KINDS_WITH_TIER = new Set([
  "NetworkPolicy",
  "GlobalNetworkPolicy",
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
]);

function where(
  r: Resource,
  index: number,
): Pick<SetIssue, "index" | "kind" | "namespace" | "name"> {
  return {
    index,
    kind: r.kind,
    ...(r.metadata.namespace !== undefined ? { namespace: r.metadata.namespace } : {}),
    name: r.metadata.name,
  };
}

function tierOf(r: Resource): string | undefined {
  if (r.apiVersion !== "microseg.io/v1" || !POLICY_KINDS_WITH_TIER.has(r.kind)) return undefined;
  return (r.spec as { tier?: string }).tier;
}

/**
 * The set-level rules over objects that each passed their schema. References that do not
 * resolve would make enforcement weaker than written (a policy in a missing tier would be
 * skipped), so they are errors; a namespace without its Namespace object is implied, as the
 * API server's own label says what it would be, and reported as a warning.
 */
export function checkResourceSet(resources: readonly Resource[]): {
  issues: SetIssue[];
  warnings: SetWarning[];
} {
  const issues: SetIssue[] = [];
  const first = new Map<string, number>();
  const tiers = new Set<string>(CALICO_BUILTIN_TIERS);
  const namespaces = new Set<string>();
  resources.forEach((r, index) => {
    const key = resourceKey(r);
    const seen = first.get(key);
    if (seen === undefined) first.set(key, index);
    else {
      issues.push({
        ...where(r, index),
        code: "manifest.duplicate",
        path: "",
        message: "duplicate",
        firstIndex: seen,
      });
    }
    if (r.kind === "Tier") tiers.add(r.metadata.name);
    if (r.kind === "Namespace") namespaces.add(r.metadata.name);
  });
  const implied = new Set<string>();
  resources.forEach((r, index) => {
    const tier = tierOf(r);
    if (tier !== undefined && !tiers.has(tier)) {
      issues.push({
        ...where(r, index),
        code: "manifest.reference",
        path: "spec.tier",
        message: `tier "${tier}" does not exist: add its Tier object or use one of ${[...CALICO_BUILTIN_TIERS].join(", ")}`,
      });
    }
    const ns = r.metadata.namespace;
    if (ns !== undefined && !namespaces.has(ns)) implied.add(ns);
  });
  const warnings: SetWarning[] = [...implied].sort().map((ns) => ({
    code: "manifest.implied-namespace",
    message: `namespace "${ns}" has no Namespace object: implied with label ${NAMESPACE_NAME_LABEL}=${ns} only`,
  }));
  return { issues, warnings };
}

/** Validates objects as one set: every object by its schema, then the set-level rules. */
export function validateResources(objects: readonly unknown[]): ValidationResult {
  const issues: SetIssue[] = [];
  const resources: Resource[] = [];
  objects.forEach((object, index) => {
    const result = parseResource(object);
    if (result.ok) resources.push(result.value);
    else for (const issue of result.issues) issues.push({ ...issue, index });
  });
  if (issues.length > 0) return { ok: false, issues };
  const set = checkResourceSet(resources);
  return set.issues.length > 0
    ? { ok: false, issues: set.issues }
    : { ok: true, resources, warnings: set.warnings };
}

/** A set that failed validation, for callers that build sets in code (tests, benches). */
export class ResourceSetError extends Error {
  readonly code = "manifest.set";
  constructor(readonly issues: readonly SetIssue[]) {
    super(
      issues
        .map(
          (i) =>
            `#${i.index}${i.kind ? ` ${i.kind}` : ""}: ${i.path ? `${i.path}: ` : ""}${i.message}`,
        )
        .join("; "),
    );
  }
}

/** `validateResources` for sets that must be valid: the resources, or a ResourceSetError. */
export function validResources(objects: readonly unknown[]): Resource[] {
  const result = validateResources(objects);
  if (!result.ok) throw new ResourceSetError(result.issues);
  return result.resources;
}

/** One object that must be valid by its kind's schema (no set-level rules). */
export function validResource(object: unknown): Resource {
  const result = parseResource(object);
  if (!result.ok) throw new ResourceSetError(result.issues.map((i) => ({ ...i, index: 0 })));
  return result.value;
}
