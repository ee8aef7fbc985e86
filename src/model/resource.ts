// One object of any accepted kind, validated by its kind's schema: the entry point the API and
// the manifest reader share.
import { CALICO_V3, MICROSEG_V1, ORIGINAL_API_VERSION_ANNOTATION } from "./api-versions.ts";
import type { ResourceIssue } from "./errors.ts";
import { issuesFromZod } from "./issues.ts";
import { apiGroupOf, KINDS, lookupKind, type Resource } from "./registry.ts";

export type ResourceResult =
  | { readonly ok: true; readonly value: Resource }
  | { readonly ok: false; readonly issues: readonly ResourceIssue[] };

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== "object") return false;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (hasNull(v)) return true;
  return false;
}

/**
 * JSON and YAML null means "unset", as Kubernetes decodes it (`creationTimestamp: null`). Most
 * objects have none, and they are not copied.
 */
function withoutNulls(value: unknown): unknown {
  return hasNull(value) ? copyWithoutNulls(value) : value;
}

function copyWithoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyWithoutNulls);
  if (!isPlainObject(value)) return value;
  const out: PlainObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = copyWithoutNulls(v);
  return out;
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
 * errors instead: skipping them would enforce less than written.
 */
export function isSkippableKind(apiVersion: string, kind: string): boolean {
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
  const parsed = info.schema.safeParse(apiVersion === CALICO_V3 ? fromCalico(doc) : doc, {
    reportInput: true,
  });
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: issuesFromZod(parsed.error) };
}
