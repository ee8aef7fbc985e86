// microseg.io/v1 Tier, NetworkPolicy, GlobalNetworkPolicy and StagedNetworkPolicy, spelled as
// Calico's projectcalico.org/v3. Unknown fields are errors everywhere, so a Calico feature this
// project does not enforce (an HTTP match) is refused rather than silently ignored.

import { z } from "zod";
import { MICROSEG_V1 } from "./api-versions.ts";
import { RuleSchema } from "./calico-rule.ts";
import { selectorSchema, uniqueList } from "./fields.ts";
import { clusterMeta, namespacedMeta } from "./meta.ts";
import { checkDnsLabel } from "./names.ts";
import { StagedPolicyStatusSchema } from "./staged-status.ts";

export const DEFAULT_TIER = "default";

/** Tiers that exist without a Tier object (Calico's): policies may name them. */
export const CALICO_BUILTIN_TIERS: readonly string[] = [
  "adminnetworkpolicy",
  DEFAULT_TIER,
  "baselineadminnetworkpolicy",
];

const TierNameSchema = z.string().superRefine((name, ctx) => {
  const problem = checkDnsLabel(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const TierSchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("Tier"),
  // No dots: a tier's name prefixes its policies' names.
  metadata: clusterMeta(checkDnsLabel, "Tier"),
  spec: z
    .strictObject({
      /** Lower orders are walked first; no order sorts last (Calico). */
      order: z.number().optional(),
      /** What a tier that selected the endpoint but matched nothing does; Deny when unset. */
      defaultAction: z.enum(["Deny", "Pass"]).optional(),
    })
    .prefault({}),
});

export type Tier = z.infer<typeof TierSchema>;

const POLICY_NAME_RULE =
  "must be a DNS label (at most 63 lowercase letters, digits or '-'), optionally prefixed with its tier as \"<tier>.<name>\"";

/**
 * Calico wants tiered policy names written `<tier>.<name>`; newer Calico drops the prefix. Both
 * are accepted and kept as written (the name is the identity); a prefix, when present, must
 * name the policy's own tier (checked with the spec, see `tierPrefixMatches`).
 */
export function checkPolicyName(name: string): string | undefined {
  const parts = name.split(".");
  if (parts.length > 2 || parts.some((p) => checkDnsLabel(p) !== undefined)) {
    return POLICY_NAME_RULE;
  }
  return undefined;
}

function tierPrefixMatches(
  policy: { metadata: { name: string }; spec: { tier: string } },
  ctx: z.RefinementCtx,
): void {
  const { name } = policy.metadata;
  if (checkPolicyName(name) || checkDnsLabel(policy.spec.tier)) return; // reported already
  const dot = name.indexOf(".");
  const prefix = name.slice(0, dot);
  if (dot >= 0 && prefix !== policy.spec.tier) {
    ctx.addIssue({
      code: "custom",
      path: ["metadata", "name"],
      message: `prefix "${prefix}." does not match tier "${policy.spec.tier}"`,
    });
  }
}

const policySpecShape = {
  /** Applied here, unlike other defaults: the tier is part of how a policy is named and found. */
  tier: TierNameSchema.default(DEFAULT_TIER),
  /** Lower orders first within the tier; ties and no order sort by name. */
  order: z.number().optional(),
  /** Unset selects every endpoint, as Calico's all(). */
  selector: selectorSchema().optional(),
  serviceAccountSelector: selectorSchema().optional(),
  /** Unset: Ingress, plus Egress when there are egress rules (Calico's defaulting). */
  types: uniqueList(z.enum(["Ingress", "Egress"])).optional(),
  ingress: z.array(RuleSchema).optional(),
  egress: z.array(RuleSchema).optional(),
  /** Felix's hints about where a policy is needed; they change no verdict, so are ignored. */
  performanceHints: z.array(z.enum(["AssumeNeededOnEveryNode"])).optional(),
};

type RuleList = readonly z.infer<typeof RuleSchema>[] | undefined;

/**
 * Calico's placement of rule `services`: the source of an ingress rule (who may connect) or the
 * destination of an egress rule (where to); a global policy must name the Service's namespace.
 */
function servicesPlacement(global: boolean) {
  return (spec: { ingress?: RuleList; egress?: RuleList }, ctx: z.RefinementCtx): void => {
    const fail = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    const check = (list: RuleList, direction: "ingress" | "egress") => {
      const wrong = direction === "ingress" ? "destination" : "source";
      const right = direction === "ingress" ? "source" : "destination";
      list?.forEach((rule, i) => {
        if (rule[wrong]?.services) {
          fail([direction, i, wrong, "services"], `not allowed in an ${direction} rule's ${wrong}`);
        }
        const services = rule[right]?.services;
        if (global && services && services.namespace === undefined) {
          fail(
            [direction, i, right, "services", "namespace"],
            "must name the Service's namespace in a global policy",
          );
        }
      });
    };
    check(spec.ingress, "ingress");
    check(spec.egress, "egress");
  };
}

/**
 * GlobalNetworkPolicy's host endpoint stages (Calico's semantics, enforced on host endpoints
 * only): `doNotTrack` (untracked, before conntrack), `preDNAT` (ingress before DNAT),
 * `applyOnForward` (also forwarded traffic through the host endpoint).
 */
const hostStageShape = {
  doNotTrack: z.boolean().optional(),
  preDNAT: z.boolean().optional(),
  applyOnForward: z.boolean().optional(),
};

/** Calico's validator (validateGlobalNetworkPolicy), each error on the field at fault. */
function hostStagesConsistent(
  spec: {
    doNotTrack?: boolean | undefined;
    preDNAT?: boolean | undefined;
    applyOnForward?: boolean | undefined;
    types?: readonly ("Ingress" | "Egress")[] | undefined;
    egress?: RuleList;
  },
  ctx: z.RefinementCtx,
): void {
  const fail = (field: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [field], message });
  if (spec.doNotTrack && spec.preDNAT)
    fail("preDNAT", "preDNAT and doNotTrack cannot both be true");
  if (spec.preDNAT && (spec.egress?.length ?? 0) > 0) {
    fail("egress", "a preDNAT policy cannot have egress rules (pre-DNAT policy is ingress only)");
  }
  if (spec.preDNAT && spec.types?.includes("Egress")) {
    fail("types", "a preDNAT policy cannot have type Egress (pre-DNAT policy is ingress only)");
  }
  if (!spec.applyOnForward && (spec.doNotTrack || spec.preDNAT)) {
    fail("applyOnForward", "must be true when doNotTrack or preDNAT is true");
  }
}

/** Namespaced policies select workloads only: host endpoint stages are an error there. */
const globalOnly = z
  .unknown()
  .refine(() => false, { error: "only a GlobalNetworkPolicy may set it (host endpoint policy)" })
  .optional();
const namespacedStageShape = {
  doNotTrack: globalOnly,
  preDNAT: globalOnly,
  applyOnForward: globalOnly,
};

export const NetworkPolicySchema = z
  .strictObject({
    apiVersion: z.literal(MICROSEG_V1),
    kind: z.literal("NetworkPolicy"),
    metadata: namespacedMeta(checkPolicyName),
    spec: z
      .strictObject({ ...policySpecShape, ...namespacedStageShape })
      .superRefine(servicesPlacement(false))
      .prefault({}),
  })
  .superRefine(tierPrefixMatches);

export type NetworkPolicy = z.infer<typeof NetworkPolicySchema>;

export const GlobalNetworkPolicySchema = z
  .strictObject({
    apiVersion: z.literal(MICROSEG_V1),
    kind: z.literal("GlobalNetworkPolicy"),
    metadata: clusterMeta(checkPolicyName, "GlobalNetworkPolicy"),
    spec: z
      .strictObject({
        ...policySpecShape,
        ...hostStageShape,
        namespaceSelector: selectorSchema().optional(),
      })
      .superRefine(servicesPlacement(true))
      .superRefine(hostStagesConsistent)
      .prefault({}),
  })
  .superRefine(tierPrefixMatches);

export type GlobalNetworkPolicy = z.infer<typeof GlobalNetworkPolicySchema>;

const { tier: _tier, ...stagedRemovable } = policySpecShape;
const STAGED_REMOVABLE_FIELDS = Object.keys(stagedRemovable) as (keyof typeof stagedRemovable)[];

const stagedActionShape = { stagedAction: z.enum(["Set", "Delete"]).optional() };

const STAGE_FIELDS = Object.keys(hostStageShape) as (keyof typeof hostStageShape)[];

/** A staged Delete names the policy to remove; contents would be meaningless. */
function stagedDeleteIsBare(
  spec: { stagedAction?: "Set" | "Delete" | undefined } & Record<string, unknown>,
  ctx: z.RefinementCtx,
): void {
  if (spec.stagedAction !== "Delete") return;
  for (const field of [...STAGED_REMOVABLE_FIELDS, ...STAGE_FIELDS]) {
    if (spec[field] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: "must be unset when stagedAction is Delete",
      });
    }
  }
}

/**
 * A NetworkPolicy previewed, not enforced: `Set` stages these contents for the policy of the
 * same name, `Delete` stages its removal (and then only the tier may be given). Unset means Set.
 */
export const StagedNetworkPolicySchema = z
  .strictObject({
    apiVersion: z.literal(MICROSEG_V1),
    kind: z.literal("StagedNetworkPolicy"),
    metadata: namespacedMeta(checkPolicyName),
    spec: z
      .strictObject({ ...stagedActionShape, ...policySpecShape, ...namespacedStageShape })
      .superRefine(stagedDeleteIsBare)
      .superRefine(servicesPlacement(false))
      .prefault({}),
    status: StagedPolicyStatusSchema.optional(),
  })
  .superRefine(tierPrefixMatches);

/** The same for a GlobalNetworkPolicy. */
export const StagedGlobalNetworkPolicySchema = z
  .strictObject({
    apiVersion: z.literal(MICROSEG_V1),
    kind: z.literal("StagedGlobalNetworkPolicy"),
    metadata: clusterMeta(checkPolicyName, "StagedGlobalNetworkPolicy"),
    spec: z
      .strictObject({
        ...stagedActionShape,
        ...policySpecShape,
        ...hostStageShape,
        namespaceSelector: selectorSchema().optional(),
      })
      .superRefine(stagedDeleteIsBare)
      .superRefine(servicesPlacement(true))
      .superRefine(hostStagesConsistent)
      .prefault({}),
    status: StagedPolicyStatusSchema.optional(),
  })
  .superRefine(tierPrefixMatches);

export type StagedGlobalNetworkPolicy = z.infer<typeof StagedGlobalNetworkPolicySchema>;

export type StagedNetworkPolicy = z.infer<typeof StagedNetworkPolicySchema>;
