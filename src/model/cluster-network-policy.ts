// policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy (network-policy-api v0.2), with the
// CRD's OpenAPI and CEL rules: one kind for the Admin and Baseline tiers, actions
// Accept/Deny/Pass, rule ports under `protocols`.
import { z } from "zod";
import { exactlyOne } from "./admin-network-policy.ts";
import {
  CidrSchema,
  intInRange,
  PortNameSchema,
  PortNumberSchema,
  refusedField,
} from "./fields.ts";
import { LabelSelectorSchema } from "./label-selector.ts";
import { clusterMeta } from "./meta.ts";
import { checkDnsSubdomain } from "./names.ts";

const MAX_ITEMS = 25;

function list<T extends z.ZodType>(item: T, what: string) {
  return z
    .array(item)
    .min(1, `must list at least one ${what}`)
    .max(MAX_ITEMS, `must list at most ${MAX_ITEMS} ${what}s`);
}

const NamespacedPodSchema = z.strictObject({
  // Optional in the CRD: an unset namespaceSelector selects every namespace.
  namespaceSelector: LabelSelectorSchema.default({}),
  podSelector: LabelSelectorSchema,
});

const SubjectSchema = z
  .strictObject({
    namespaces: LabelSelectorSchema.optional(),
    pods: NamespacedPodSchema.optional(),
  })
  .superRefine(exactlyOne(["namespaces", "pods"]));

const IngressPeerSchema = z
  .strictObject({
    namespaces: LabelSelectorSchema.optional(),
    pods: NamespacedPodSchema.optional(),
  })
  .superRefine(exactlyOne(["namespaces", "pods"]));

const EgressPeerSchema = z
  .strictObject({
    namespaces: LabelSelectorSchema.optional(),
    pods: NamespacedPodSchema.optional(),
    nodes: LabelSelectorSchema.optional(),
    networks: list(CidrSchema, "CIDR").optional(),
    // An FQDN peer needs DNS snooping; refused so no rule is silently narrowed or dropped.
    domainNames: refusedField(
      "domainNames peers are not supported (FQDN match needs DNS snooping); use networks",
    ).optional(),
  })
  .superRefine(exactlyOne(["namespaces", "pods", "nodes", "networks", "domainNames"]));

const PortSchema = z
  .strictObject({
    number: PortNumberSchema.optional(),
    range: z
      .strictObject({ start: PortNumberSchema, end: PortNumberSchema })
      .superRefine((range, ctx) => {
        if (range.start >= range.end) {
          ctx.addIssue({ code: "custom", path: ["end"], message: "must be greater than start" });
        }
      })
      .optional(),
  })
  .superRefine(exactlyOne(["number", "range"]));

// MinProperties=1: `tcp: {}` is invalid, a protocol entry always names its port.
const ProtocolPortSchema = z.strictObject({ destinationPort: PortSchema });

const ProtocolSchema = z
  .strictObject({
    tcp: ProtocolPortSchema.optional(),
    udp: ProtocolPortSchema.optional(),
    sctp: ProtocolPortSchema.optional(),
    destinationNamedPort: PortNameSchema.optional(),
  })
  .superRefine(exactlyOne(["tcp", "udp", "sctp", "destinationNamedPort"]));

export type CnpProtocol = z.infer<typeof ProtocolSchema>;

const ActionSchema = z.enum(["Accept", "Deny", "Pass"]);
const RuleNameSchema = z.string().max(100, "must be at most 100 characters").optional();
const ProtocolsSchema = list(ProtocolSchema, "protocol").optional();

const IngressRuleSchema = z.strictObject({
  name: RuleNameSchema,
  action: ActionSchema,
  from: list(IngressPeerSchema, "peer"),
  protocols: ProtocolsSchema,
});

const EgressRuleSchema = z
  .strictObject({
    name: RuleNameSchema,
    action: ActionSchema,
    to: list(EgressPeerSchema, "peer"),
    protocols: ProtocolsSchema,
  })
  .superRefine((rule, ctx) => {
    // The CRD's CEL rule: networks and nodes have no named ports.
    const named = rule.protocols?.some((p) => p.destinationNamedPort !== undefined);
    const portless = rule.to.some((p) => p.networks !== undefined || p.nodes !== undefined);
    if (named && portless) {
      ctx.addIssue({
        code: "custom",
        path: ["protocols"],
        message:
          "destinationNamedPort cannot be used with networks or nodes peers (they have no named ports)",
      });
    }
  });

export const ClusterNetworkPolicySchema = z.strictObject({
  apiVersion: z.literal("policy.networking.k8s.io/v1alpha2"),
  kind: z.literal("ClusterNetworkPolicy"),
  metadata: clusterMeta(checkDnsSubdomain, "ClusterNetworkPolicy"),
  spec: z.strictObject({
    tier: z.enum(["Admin", "Baseline"]),
    priority: intInRange(0, 1000),
    subject: SubjectSchema,
    ingress: z
      .array(IngressRuleSchema)
      .max(MAX_ITEMS, `must list at most ${MAX_ITEMS} rules`)
      .optional(),
    egress: z
      .array(EgressRuleSchema)
      .max(MAX_ITEMS, `must list at most ${MAX_ITEMS} rules`)
      .optional(),
  }),
  status: z.unknown().optional(),
});

export type ClusterNetworkPolicy = z.infer<typeof ClusterNetworkPolicySchema>;
