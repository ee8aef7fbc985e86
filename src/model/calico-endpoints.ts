// microseg.io/v1 NetworkSet, GlobalNetworkSet, WorkloadEndpoint and HostEndpoint (Calico v3
// field names): the things besides pods that carry labels and addresses, so policy can select
// them. Their labels live in metadata.labels.
import { z } from "zod";
import { parseCidrText } from "./addresses.ts";
import { MICROSEG_V1 } from "./api-versions.ts";
import { IpSchema, intInRange, NetSchema, PortNameSchema, PortNumberSchema } from "./fields.ts";
import { clusterMeta, namespacedMeta } from "./meta.ts";
import { checkDnsSubdomain } from "./names.ts";
import { isGeneratedProfileName } from "./profiles.ts";

const NetworkSetSpecSchema = z.strictObject({ nets: z.array(NetSchema).optional() }).prefault({});

export const NetworkSetSchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("NetworkSet"),
  metadata: namespacedMeta(checkDnsSubdomain),
  spec: NetworkSetSpecSchema,
});

export type NetworkSet = z.infer<typeof NetworkSetSchema>;

export const GlobalNetworkSetSchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("GlobalNetworkSet"),
  metadata: clusterMeta(checkDnsSubdomain, "GlobalNetworkSet"),
  spec: NetworkSetSpecSchema,
});

export type GlobalNetworkSet = z.infer<typeof GlobalNetworkSetSchema>;

const subdomain = z.string().superRefine((name, ctx) => {
  const problem = checkDnsSubdomain(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const INTERFACE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;
const INTERFACE_RULE = "must be a Linux interface name: 1-15 letters, digits, '_', '.' or '-'";
const interfaceName = z.string().regex(INTERFACE_NAME, INTERFACE_RULE);

const PortProtocolSchema = z.enum(["TCP", "UDP", "SCTP", "UDPLite"]);

/** One address per entry: a workload owns addresses, not ranges. */
const HostNetSchema = NetSchema.superRefine((text, ctx) => {
  const cidr = parseCidrText(text, true)!;
  if (cidr.prefix !== (cidr.family === 4 ? 32 : 128)) {
    ctx.addIssue({ code: "custom", message: "must be a single address (/32 or /128)" });
  }
});

const WorkloadEndpointPortSchema = z
  .strictObject({
    name: PortNameSchema.optional(),
    protocol: PortProtocolSchema,
    port: PortNumberSchema,
    hostPort: intInRange(0, 65535).optional(),
    hostIP: IpSchema.optional(),
  })
  .superRefine((port, ctx) => {
    if (port.name === undefined && !port.hostPort) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "required unless hostPort is set" });
    }
  });

/**
 * A workload outside Kubernetes (VM, bare-metal process, container on a plain host). It may
 * name a service account, so serviceAccountSelector and serviceAccounts rules apply to it as
 * they do to pods.
 */
/**
 * Profiles an endpoint names: Profiles are not enforced, so only the generated ones, which
 * restate what microseg derives, may be named (profiles.ts); another would lose its rules.
 */
const ProfilesSchema = z
  .array(
    z
      .string()
      .refine(
        isGeneratedProfileName,
        "names a Profile, whose rules microseg does not enforce (only kns.*, ksa.* and projectcalico-default-allow): write them as a (Global)NetworkPolicy selecting this endpoint",
      ),
  )
  .optional();

export const WorkloadEndpointSchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("WorkloadEndpoint"),
  metadata: namespacedMeta(checkDnsSubdomain),
  spec: z.strictObject({
    node: subdomain,
    orchestrator: z.string().optional(),
    workload: z.string().optional(),
    endpoint: z.string().optional(),
    containerID: z.string().optional(),
    pod: z.string().optional(),
    serviceAccountName: subdomain.optional(),
    ipNetworks: z.array(HostNetSchema).optional(),
    ipNATs: z.array(z.strictObject({ internalIP: IpSchema, externalIP: IpSchema })).optional(),
    ipv4Gateway: IpSchema.optional(),
    ipv6Gateway: IpSchema.optional(),
    interfaceName: interfaceName.optional(),
    mac: z
      .string()
      .regex(/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/, "must be a MAC address")
      .optional(),
    profiles: ProfilesSchema,
    ports: z.array(WorkloadEndpointPortSchema).optional(),
    allowSpoofedSourcePrefixes: z.array(NetSchema).optional(),
  }),
});

export type WorkloadEndpoint = z.infer<typeof WorkloadEndpointSchema>;

/** A host's own interface (or all of them, `*`), policed like a workload. */
export const HostEndpointSchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("HostEndpoint"),
  metadata: clusterMeta(checkDnsSubdomain, "HostEndpoint"),
  spec: z
    .strictObject({
      node: subdomain,
      interfaceName: z
        .string()
        .refine((name) => name === "*" || INTERFACE_NAME.test(name), INTERFACE_RULE)
        .optional(),
      expectedIPs: z.array(IpSchema).optional(),
      profiles: ProfilesSchema,
      ports: z
        .array(
          z.strictObject({
            name: PortNameSchema,
            protocol: PortProtocolSchema,
            port: PortNumberSchema,
          }),
        )
        .optional(),
    })
    .superRefine((spec, ctx) => {
      if (spec.interfaceName === undefined && !spec.expectedIPs?.length) {
        // Without either the host endpoint could be bound to no interface at all.
        ctx.addIssue({
          code: "custom",
          path: ["expectedIPs"],
          message:
            "must list an address when interfaceName is not set (the host endpoint is bound to the interfaces holding them)",
        });
      }
    }),
});

export type HostEndpoint = z.infer<typeof HostEndpointSchema>;
