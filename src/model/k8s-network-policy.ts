// networking.k8s.io/v1 NetworkPolicy with the API server's validation
// (pkg/apis/networking/validation). Defaults stay unapplied: protocol TCP and the policyTypes
// inferred from the rules are the policy layer's job, so the object reads as written.

import { z } from "zod";
import { cidrCovers } from "../net/cidr.ts";
import { parseCidrText } from "./addresses.ts";
import { MICROSEG_V1 } from "./api-versions.ts";
import { ProtocolSchema } from "./core.ts";
import { CidrSchema, PortNumberSchema, scalar, uniqueList } from "./fields.ts";
import { LabelSelectorSchema } from "./label-selector.ts";
import { namespacedMeta } from "./meta.ts";
import { checkDnsSubdomain, isPortName } from "./names.ts";
import { StagedPolicyStatusSchema } from "./staged-status.ts";

/** A port number or the name of a container port. */
export const IntOrPortNameSchema = scalar<number | string>(
  (v) =>
    (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535) ||
    (typeof v === "string" && isPortName(v)),
  "must be 1-65535 or a port name",
);

const NetworkPolicyPortSchema = z
  .strictObject({
    protocol: ProtocolSchema.optional(),
    port: IntOrPortNameSchema.optional(),
    endPort: PortNumberSchema.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.endPort === undefined) return;
    const fail = (message: string) => ctx.addIssue({ code: "custom", path: ["endPort"], message });
    if (p.port === undefined) fail("may not be set without port");
    else if (typeof p.port === "string") fail("may not be set when port is a name");
    else if (p.endPort < p.port) fail(`must be greater than or equal to port (${p.port})`);
  });

const IpBlockSchema = z
  .strictObject({ cidr: CidrSchema, except: z.array(CidrSchema).optional() })
  .superRefine((block, ctx) => {
    const outer = parseCidrText(block.cidr, false)!;
    block.except?.forEach((text, i) => {
      const inner = parseCidrText(text, false)!;
      if (inner.prefix <= outer.prefix || !cidrCovers(outer, inner)) {
        ctx.addIssue({
          code: "custom",
          path: ["except", i],
          message: `must be a strict subset of cidr ${block.cidr}`,
        });
      }
    });
  });

const NetworkPolicyPeerSchema = z
  .strictObject({
    podSelector: LabelSelectorSchema.optional(),
    namespaceSelector: LabelSelectorSchema.optional(),
    ipBlock: IpBlockSchema.optional(),
  })
  .superRefine((peer, ctx) => {
    const selectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
    if (peer.ipBlock === undefined && !selectors) {
      ctx.addIssue({
        code: "custom",
        message: "must set podSelector, namespaceSelector or ipBlock",
      });
    } else if (peer.ipBlock !== undefined && selectors) {
      ctx.addIssue({
        code: "custom",
        message: "ipBlock may not be combined with podSelector or namespaceSelector",
      });
    }
  });

const IngressRuleSchema = z.strictObject({
  from: z.array(NetworkPolicyPeerSchema).optional(),
  ports: z.array(NetworkPolicyPortSchema).optional(),
});

const EgressRuleSchema = z.strictObject({
  to: z.array(NetworkPolicyPeerSchema).optional(),
  ports: z.array(NetworkPolicyPortSchema).optional(),
});

const NetworkPolicySpecSchema = z.strictObject({
  // Go decodes a missing podSelector as the empty selector: every pod in the namespace.
  podSelector: LabelSelectorSchema.prefault({}),
  policyTypes: uniqueList(z.enum(["Ingress", "Egress"])).optional(),
  ingress: z.array(IngressRuleSchema).optional(),
  egress: z.array(EgressRuleSchema).optional(),
});

export const K8sNetworkPolicySchema = z.strictObject({
  apiVersion: z.literal("networking.k8s.io/v1"),
  kind: z.literal("NetworkPolicy"),
  metadata: namespacedMeta(checkDnsSubdomain),
  spec: NetworkPolicySpecSchema,
  status: z.unknown().optional(),
});

export type K8sNetworkPolicy = z.infer<typeof K8sNetworkPolicySchema>;

/**
 * microseg.io/v1 (projectcalico.org/v3) StagedKubernetesNetworkPolicy: a Kubernetes
 * NetworkPolicy previewed, not enforced. `Set` (or unset) stages these contents for the
 * NetworkPolicy of the same namespace and name, `Delete` stages its removal.
 */
export const StagedKubernetesNetworkPolicySchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("StagedKubernetesNetworkPolicy"),
  metadata: namespacedMeta(checkDnsSubdomain),
  spec: z
    .strictObject({
      stagedAction: z.enum(["Set", "Delete"]).optional(),
      ...NetworkPolicySpecSchema.shape,
    })
    .prefault({}),
  status: StagedPolicyStatusSchema.optional(),
});

export type StagedKubernetesNetworkPolicy = z.infer<typeof StagedKubernetesNetworkPolicySchema>;
