// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy, with
// the CRD's OpenAPI and CEL rules (network-policy-api v0.1.x). The two share everything but
// priority, the actions they allow and the BANP's fixed name.
import { z } from "zod";
import { ProtocolSchema } from "./core.ts";
import {
  CidrSchema,
  intInRange,
  LabelKeySchema,
  PortNameSchema,
  PortNumberSchema,
} from "./fields.ts";
import { LabelSelectorSchema, labelSelectorShape } from "./label-selector.ts";
import { clusterMeta } from "./meta.ts";
import { checkDnsSubdomain } from "./names.ts";

const MAX_RULES = 100;
const MAX_PEERS = 100;
const MAX_PORTS = 100;
const MAX_NETWORKS = 25;

/** The CRDs mark every one-of with MinProperties=1/MaxProperties=1. */
export function exactlyOne<T extends object>(fields: readonly (keyof T & string)[]) {
  return (value: T, ctx: z.RefinementCtx) => {
    const set = fields.filter((f) => value[f] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({ code: "custom", message: `must set exactly one of ${fields.join(", ")}` });
    }
  };
}

/**
 * A namespaces peer. `sameLabels` / `notSameLabels` are the v0.1.1 NamespaceSet fields that
 * v1alpha1 later removed; they are accepted (alone, never mixed with matchLabels or
 * matchExpressions) so policy-assistant's cases still load. Both compare a namespace's values
 * for these keys with the subject namespace's, as v0.1.1 defines; matching is the policy layer's.
 * Before v0.1.5 the peer was a NamespacedPeer whose label selector sat one level down,
 * `namespaces: {namespaceSelector: {matchLabels: ...}}` (also in `pods: {namespaces: ...}`):
 * accepted alone, as that one-of was, and read as the selector it holds, so consumers see one
 * shape.
 */
const NamespacesPeerSchema = z
  .strictObject({
    ...labelSelectorShape,
    namespaceSelector: LabelSelectorSchema.optional(),
    sameLabels: z.array(LabelKeySchema).optional(),
    notSameLabels: z.array(LabelKeySchema).optional(),
  })
  .superRefine((peer, ctx) => {
    const legacy = [peer.sameLabels, peer.notSameLabels].filter((f) => f !== undefined).length;
    const selector = peer.matchLabels !== undefined || peer.matchExpressions !== undefined;
    if (peer.namespaceSelector !== undefined && (legacy > 0 || selector)) {
      ctx.addIssue({
        code: "custom",
        path: ["namespaceSelector"],
        message:
          "the pre-v0.1.5 namespaceSelector stands alone: set it, or matchLabels/matchExpressions, or sameLabels/notSameLabels",
      });
    } else if (legacy > 1 || (legacy === 1 && selector)) {
      ctx.addIssue({
        code: "custom",
        message: "sameLabels and notSameLabels stand alone: set one of them, or a label selector",
      });
    }
  })
  .transform(({ namespaceSelector, ...peer }) =>
    namespaceSelector === undefined ? peer : { ...namespaceSelector },
  );

export type AnpNamespacesPeer = z.infer<typeof NamespacesPeerSchema>;

/**
 * `pods: {namespaceSelector, podSelector}`. The v0.1.1 spelling `pods: {namespaces: ...}` is
 * accepted and rewritten to `namespaceSelector`, so consumers see one shape.
 */
const PodsPeerSchema = z
  .strictObject({
    namespaceSelector: NamespacesPeerSchema.optional(),
    namespaces: NamespacesPeerSchema.optional(),
    podSelector: LabelSelectorSchema,
  })
  .superRefine(exactlyOne(["namespaceSelector", "namespaces"]))
  .transform(({ namespaceSelector, namespaces, podSelector }) => ({
    namespaceSelector: (namespaceSelector ?? namespaces)!,
    podSelector,
  }));

const SubjectSchema = z
  .strictObject({
    namespaces: LabelSelectorSchema.optional(),
    pods: z
      .strictObject({ namespaceSelector: LabelSelectorSchema, podSelector: LabelSelectorSchema })
      .optional(),
  })
  .superRefine(exactlyOne(["namespaces", "pods"]));

const IngressPeerSchema = z
  .strictObject({ namespaces: NamespacesPeerSchema.optional(), pods: PodsPeerSchema.optional() })
  .superRefine(exactlyOne(["namespaces", "pods"]));

const EgressPeerSchema = z
  .strictObject({
    namespaces: NamespacesPeerSchema.optional(),
    pods: PodsPeerSchema.optional(),
    nodes: LabelSelectorSchema.optional(),
    networks: z
      .array(CidrSchema)
      .min(1, "must list at least one CIDR")
      .max(MAX_NETWORKS, `must list at most ${MAX_NETWORKS} CIDRs`)
      .optional(),
  })
  .superRefine(exactlyOne(["namespaces", "pods", "nodes", "networks"]));

// The CRD defaults protocol to TCP; left unapplied like every Kubernetes default here.
const PortSchema = z
  .strictObject({
    portNumber: z
      .strictObject({ protocol: ProtocolSchema.optional(), port: PortNumberSchema })
      .optional(),
    namedPort: PortNameSchema.optional(),
    portRange: z
      .strictObject({
        protocol: ProtocolSchema.optional(),
        start: PortNumberSchema,
        end: PortNumberSchema,
      })
      .superRefine((range, ctx) => {
        if (range.start >= range.end) {
          ctx.addIssue({ code: "custom", path: ["end"], message: "must be greater than start" });
        }
      })
      .optional(),
  })
  .superRefine(exactlyOne(["portNumber", "namedPort", "portRange"]));

const PortsSchema = z.array(PortSchema).max(MAX_PORTS, `must list at most ${MAX_PORTS} ports`);

function peersSchema<T extends z.ZodType>(peer: T) {
  return z
    .array(peer)
    .min(1, "must list at least one peer")
    .max(MAX_PEERS, `must list at most ${MAX_PEERS} peers`);
}

function specShape<A extends readonly [string, ...string[]]>(actions: A) {
  const action = z.enum(actions);
  const name = z.string().max(100, "must be at most 100 characters").optional();
  const rules = <T extends z.ZodType>(rule: T) =>
    z.array(rule).max(MAX_RULES, `must list at most ${MAX_RULES} rules`).optional();
  return {
    subject: SubjectSchema,
    ingress: rules(
      z.strictObject({
        name,
        action,
        from: peersSchema(IngressPeerSchema),
        ports: PortsSchema.optional(),
      }),
    ),
    egress: rules(
      z.strictObject({
        name,
        action,
        to: peersSchema(EgressPeerSchema),
        ports: PortsSchema.optional(),
      }),
    ),
  };
}

export const AdminNetworkPolicySchema = z.strictObject({
  apiVersion: z.literal("policy.networking.k8s.io/v1alpha1"),
  kind: z.literal("AdminNetworkPolicy"),
  metadata: clusterMeta(checkDnsSubdomain, "AdminNetworkPolicy"),
  spec: z.strictObject({
    priority: intInRange(0, 1000),
    ...specShape(["Allow", "Deny", "Pass"] as const),
  }),
  status: z.unknown().optional(),
});

export type AdminNetworkPolicy = z.infer<typeof AdminNetworkPolicySchema>;

/** The API admits exactly one BANP per cluster, and it must be called this. */
export const BASELINE_POLICY_NAME = "default";

export const BaselineAdminNetworkPolicySchema = z.strictObject({
  apiVersion: z.literal("policy.networking.k8s.io/v1alpha1"),
  kind: z.literal("BaselineAdminNetworkPolicy"),
  metadata: clusterMeta(
    (name) => (name === BASELINE_POLICY_NAME ? undefined : `must be "${BASELINE_POLICY_NAME}"`),
    "BaselineAdminNetworkPolicy",
  ),
  spec: z.strictObject(specShape(["Allow", "Deny"] as const)),
  status: z.unknown().optional(),
});

export type BaselineAdminNetworkPolicy = z.infer<typeof BaselineAdminNetworkPolicySchema>;
