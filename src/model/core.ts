// v1 Namespace and Pod. Loose objects: a live cluster dump carries many fields this code never
// reads (and newer ones than it knows); only the fields identity and addressing come from are
// validated.
import { z } from "zod";
import { IpSchema, PortNameSchema, PortNumberSchema } from "./fields.ts";
import { looseClusterMeta, looseNamespacedMeta } from "./meta.ts";
import { checkDnsLabel, checkDnsSubdomain } from "./names.ts";

/** Set by the API server on every namespace; namespaceSelectors rely on it. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export const NamespaceSchema = z
  .looseObject({
    apiVersion: z.literal("v1"),
    kind: z.literal("Namespace"),
    metadata: looseClusterMeta(checkDnsLabel, "Namespace"),
  })
  .transform((ns) => ({
    ...ns,
    metadata: {
      ...ns.metadata,
      labels: { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name },
    },
  }));

export type Namespace = z.infer<typeof NamespaceSchema>;

export const ProtocolSchema = z.enum(["TCP", "UDP", "SCTP"]);

const ContainerPortSchema = z.looseObject({
  name: PortNameSchema.optional(),
  containerPort: PortNumberSchema,
  // Always present in dumps (the API server defaults it); filled here for hand-written pods.
  protocol: ProtocolSchema.default("TCP"),
  hostPort: PortNumberSchema.optional(),
  hostIP: IpSchema.optional(),
});

const ContainerSchema = z.looseObject({
  name: z.string().optional(),
  ports: z.array(ContainerPortSchema).optional(),
});

export const PodSpecSchema = z.looseObject({
  nodeName: z.string().optional(),
  serviceAccountName: z.string().optional(),
  hostNetwork: z.boolean().optional(),
  containers: z.array(ContainerSchema).prefault([]),
});

const PodIpSchema = z.looseObject({ ip: IpSchema });

const PodStatusSchema = z.looseObject({
  phase: z.enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"]).optional(),
  podIP: IpSchema.optional(),
  podIPs: z.array(PodIpSchema).optional(),
  hostIP: IpSchema.optional(),
  hostIPs: z.array(PodIpSchema).optional(),
});

export const PodSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Pod"),
  metadata: looseNamespacedMeta(checkDnsSubdomain),
  spec: PodSpecSchema.prefault({}),
  status: PodStatusSchema.optional(),
});

export type Pod = z.infer<typeof PodSchema>;

// Every Kubernetes address type is accepted: Hostname and InternalDNS/ExternalDNS entries hold
// names, InternalIP and ExternalIP must be addresses. The policy layer uses the IPs.
const IP_ADDRESS_TYPES = new Set(["InternalIP", "ExternalIP"]);

const NodeAddressSchema = z
  .looseObject({ type: z.string().optional(), address: z.string() })
  .superRefine((a, ctx) => {
    if (
      a.type !== undefined &&
      IP_ADDRESS_TYPES.has(a.type) &&
      !IpSchema.safeParse(a.address).success
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["address"],
        message: `must be an IP address (type ${a.type})`,
      });
    }
  });

/**
 * v1 Node: its labels are what AdminNetworkPolicy `nodes` peers select, its addresses what
 * those peers match. Loose, like Pod: dumps carry far more.
 */
export const NodeSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Node"),
  metadata: looseClusterMeta(checkDnsSubdomain, "Node"),
  status: z.looseObject({ addresses: z.array(NodeAddressSchema).optional() }).optional(),
});

export type Node = z.infer<typeof NodeSchema>;
