// v1 ServiceAccount and Service, discovery.k8s.io/v1 EndpointSlice: accepted as a cluster dump
// carries them (loose objects, like Pod). A ServiceAccount's labels are what Calico's
// serviceAccountSelector matches; Services and their EndpointSlices are stored and served, and
// the fields a Service match would read are validated already.
import { z } from "zod";
import { ProtocolSchema } from "./core.ts";
import { IpSchema, LabelMapSchema, PortNameSchema, PortNumberSchema } from "./fields.ts";
import { looseNamespacedMeta } from "./meta.ts";
import { checkDnsLabel, checkDnsSubdomain } from "./names.ts";

export const ServiceAccountSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("ServiceAccount"),
  metadata: looseNamespacedMeta(checkDnsSubdomain),
});

export type ServiceAccount = z.infer<typeof ServiceAccountSchema>;

const ServicePortSchema = z.looseObject({
  name: z.string().optional(),
  port: PortNumberSchema,
  // A number or the name of a container port of the selected pods.
  targetPort: z.union([PortNumberSchema, PortNameSchema]).optional(),
  protocol: ProtocolSchema.default("TCP"),
});

export const ServiceSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Service"),
  metadata: looseNamespacedMeta(checkDnsLabel),
  spec: z
    .looseObject({
      type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).optional(),
      selector: LabelMapSchema.optional(),
      ports: z.array(ServicePortSchema).optional(),
      clusterIP: z.union([IpSchema, z.literal("None"), z.literal("")]).optional(),
    })
    .prefault({}),
});

export type Service = z.infer<typeof ServiceSchema>;

/** Set by the EndpointSlice controller: the Service a slice belongs to. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export const EndpointSliceSchema = z
  .looseObject({
    apiVersion: z.literal("discovery.k8s.io/v1"),
    kind: z.literal("EndpointSlice"),
    metadata: looseNamespacedMeta(checkDnsSubdomain),
    addressType: z.enum(["IPv4", "IPv6", "FQDN"]),
    endpoints: z
      .array(z.looseObject({ addresses: z.array(z.string()).min(1, "must list an address") }))
      .nullish(),
    ports: z
      .array(
        z.looseObject({
          name: z.string().optional(),
          port: PortNumberSchema.optional(),
          protocol: ProtocolSchema.default("TCP"),
        }),
      )
      .nullish(),
  })
  .superRefine((slice, ctx) => {
    if (slice.addressType === "FQDN") return;
    const v6 = slice.addressType === "IPv6";
    for (const [i, e] of (slice.endpoints ?? []).entries()) {
      for (const [j, a] of e.addresses.entries()) {
        if (!IpSchema.safeParse(a).success || a.includes(":") !== v6) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, "addresses", j],
            message: `must be an ${slice.addressType} address`,
          });
        }
      }
    }
  });

export type EndpointSlice = z.infer<typeof EndpointSliceSchema>;
