// One object of any accepted kind, validated by its kind's schema: the entry point the API and
// the manifest reader share.
import { CALICO_V3, MICROSEG_V1, ORIGINAL_API_VERSION_ANNOTATION } from "./api-versions.ts";
import type { ResourceIssue } from "./errors.ts";
import { issuesFromZod } from "./issues.ts";
import { fastPod } from "./pod-fast.ts";
import { isProfileKind, isRestatingProfile, PROFILE_REFUSED } from "./profiles.ts";
import { apiGroupOf, KINDS, lookupKind, type Resource } from "./registry.ts";

export type ResourceResult =
  | { readonly ok: true; readonly value: Resource }
  | { readonly ok: false; readonly issues: readonly ResourceIssue[] };

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * JSON and YAML null means "unset", as Kubernetes decodes it (`creationTimestamp: null`). A dump
 * has some in every pod (`lastProbeTime: null`), so only the objects on the way to a null are
 * copied; everything else is shared with the input.
 */
function withoutNulls(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const kept = withoutNulls(item);
      if (out === undefined && kept !== item) out = value.slice(0, i);
      out?.push(kept);
    }
    return out ?? value;
  }
  const object = value as PlainObject;
  let out: PlainObject | undefined;
  const keys = Object.keys(object);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = object[key];
    const kept = item === null ? DROPPED : withoutNulls(item);
    if (out === undefined && kept !== item) {
      out = {};
      for (let j = 0; j < i; j++) setOwn(out, keys[j]!, object[keys[j]!]);
    }
    if (out !== undefined && kept !== DROPPED) setOwn(out, key, kept);
  }
  return out ?? value;
}

const DROPPED = Symbol("dropped");

/** `__proto__` is a valid key in a manifest: it must stay a key, not become the prototype. */
function setOwn(target: PlainObject, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

/**
 * Calico manifests load as the microseg.io/v1 kind of the same name; the apiVersion they were
 * written with is kept in an annotation, so the origin survives storage and export.
 */
function fromCalico(doc: PlainObject): PlainObject {
  if (!isPlainObject(doc.metadata)) return { ...doc, apiVersion: MICROSEG_V1 };
  const annotations = isPlainObject(doc.metadata.annotations) ? doc.metadata.annotations : {};
  return {
    ...doc,
    apiVersion: MICROSEG_V1,
    metadata: {
      ...doc.metadata,
      annotations: { ...annotations, [ORIGINAL_API_VERSION_ANNOTATION]: CALICO_V3 },
    },
  };
}

function unknownKind(apiVersion: string, kind: string): string {
  const elsewhere = KINDS.filter((k) => k.kind === kind).map((k) => k.apiVersion);
  const hint = elsewhere.length ? ` (${kind} is ${elsewhere.join(" or ")})` : "";
  // A policy kind of another product is refused as such, also when one of ours has its name
  // (Antrea's crd.antrea.io ClusterNetworkPolicy); one of ours under a wrong version of one of
  // our groups is a near miss.
  if (isProfileKind(apiVersion, kind)) return `${kind} (${apiVersion}) ${PROFILE_REFUSED}`;
  if (isPolicyKind(kind) && (elsewhere.length === 0 || !OUR_GROUPS.has(apiGroupOf(apiVersion)))) {
    const accepted = KINDS.filter((k) => isPolicyKind(k.kind)).map(
      (k) => `${k.apiVersion} ${k.kind}`,
    );
    return `${kind} (${apiVersion}) is not supported${hint}: ignoring a policy would enforce less than written; policy kinds accepted: ${accepted.join(", ")}`;
  }
  return `unknown kind "${kind}" in apiVersion "${apiVersion}"${hint}`;
}

const OUR_GROUPS = new Set([...KINDS.map((k) => k.group), apiGroupOf(CALICO_V3)]);

/** CiliumNetworkPolicy, Antrea's ClusterNetworkPolicy, ...: kinds that say what may talk. */
function isPolicyKind(kind: string): boolean {
  return kind.endsWith("Policy");
}

/**
 * Kinds this project does not read and that cannot change a verdict (ConfigMaps, Services of
 * other tools, CRDs of unrelated operators): loading may skip them. Policy kinds of other
 * products and near-misses of accepted kinds (a known kind under the wrong apiVersion) are
 * errors instead: skipping them would enforce less than written, as would skipping a Calico
 * Profile other than the generated ones (profiles.ts).
 */
export function isSkippableKind(apiVersion: string, kind: string, value?: unknown): boolean {
  if (isProfileKind(apiVersion, kind)) return isRestatingProfile(value);
  return (
    lookupKind(apiVersion, kind) === undefined &&
    !isPolicyKind(kind) &&
    !KINDS.some((k) => k.kind === kind)
  );
}

/** Validates one object of any accepted kind. */
export function parseResource(input: unknown): ResourceResult {
  const fail = (code: ResourceIssue["code"], path: string, message: string): ResourceResult => ({
    ok: false,
    issues: [{ code, path, message }],
  });
  if (!isPlainObject(input)) return fail("manifest.shape", "", "must be an object");
  const { apiVersion, kind } = input;
  if (typeof apiVersion !== "string" || apiVersion === "") {
    return fail("manifest.kind", "apiVersion", "required");
  }
  if (typeof kind !== "string" || kind === "") return fail("manifest.kind", "kind", "required");
  const info = lookupKind(apiVersion, kind);
  if (!info) return fail("manifest.kind", "", unknownKind(apiVersion, kind));

  const doc = withoutNulls(input) as PlainObject;
  // Most of a cluster dump: pods PodSchema plainly accepts get its output without zod's walk.
  const fast = info.kind === "Pod" && apiVersion === "v1" ? fastPod(doc) : undefined;
  if (fast !== undefined) return { ok: true, value: fast };
  const parsed = info.schema.safeParse(apiVersion === CALICO_V3 ? fromCalico(doc) : doc, {
    reportInput: true,
  });
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: issuesFromZod(parsed.error) };
}
