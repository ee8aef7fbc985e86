// Calico Profiles: not enforced here, so a Profile may only be left out when leaving it out
// changes nothing. The ones Calico generates for Kubernetes restate what microseg derives
// itself: `kns.<namespace>` and `ksa.<namespace>.<account>` carry the namespace's and the
// account's labels under `pcns.` / `pcsa.` and allow-all rules (an endpoint no policy selects
// is open here), and `projectcalico-default-allow` allows all. Any other Profile's rules or
// labelsToApply would be dropped, enforcing less than written (ARCHITECTURE.md, Real clusters'
// inputs).
// Imports nothing of the model: the endpoint schemas use it, and the registry holds them.
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const GENERATED_NAME = /^(kns\.|ksa\.|projectcalico-default-allow$)/;
const DERIVED_LABEL = /^(pcns|pcsa)\./;
const PROFILE_GROUPS = new Set(["projectcalico.org", "microseg.io"]);

export function isProfileKind(apiVersion: string, kind: string): boolean {
  return kind === "Profile" && PROFILE_GROUPS.has(apiVersion.split("/")[0]!);
}

/** A name an endpoint's `profiles` may list: one of the generated profiles. */
export function isGeneratedProfileName(name: string): boolean {
  return GENERATED_NAME.test(name);
}

/** `{action: Allow}` with nothing else but empty sides: what the generated profiles hold. */
function isAllowAll(rule: unknown): boolean {
  if (!isPlainObject(rule) || rule.action !== "Allow") return false;
  return Object.entries(rule).every(
    ([key, value]) =>
      key === "action" ||
      ((key === "source" || key === "destination") &&
        isPlainObject(value) &&
        Object.keys(value).length === 0),
  );
}

/** Whether leaving this Profile out changes no verdict: a generated one, as generated. */
export function isRestatingProfile(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const name = isPlainObject(value.metadata) ? value.metadata.name : undefined;
  if (typeof name !== "string" || !isGeneratedProfileName(name)) return false;
  const spec = isPlainObject(value.spec) ? value.spec : {};
  const rules = [spec.ingress ?? [], spec.egress ?? []];
  if (!rules.every((list) => Array.isArray(list) && list.every(isAllowAll))) return false;
  const labels = spec.labelsToApply ?? {};
  return isPlainObject(labels) && Object.keys(labels).every((k) => DERIVED_LABEL.test(k));
}

export const PROFILE_REFUSED =
  "is not supported: its rules and labelsToApply would be ignored, enforcing less than written; write them as a (Global)NetworkPolicy selecting its endpoints (the kns.*, ksa.* and projectcalico-default-allow profiles Calico generates are skipped, as they restate what microseg derives)";
