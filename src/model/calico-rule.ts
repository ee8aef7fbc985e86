// Calico v3 Rule and EntityRule (projectcalico.org/v3 field names), with the cross-field checks
// Calico's validator makes: ports need a port-carrying protocol, ICMP matches need an ICMP
// protocol of the rule's IP version, and one rule never mixes IPv4 and IPv6 CIDRs.
import { z } from "zod";
import { parseCidrText } from "./addresses.ts";
import {
  AnnotationMapSchema,
  intInRange,
  NetSchema,
  refusedField,
  scalar,
  selectorSchema,
} from "./fields.ts";
import { isPortName } from "./names.ts";

export const PROTOCOL_NAMES = ["TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite"] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

export const RuleProtocolSchema = scalar<ProtocolName | number>(
  (v) =>
    (PROTOCOL_NAMES as readonly unknown[]).includes(v) ||
    (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 255),
  `must be ${PROTOCOL_NAMES.join(", ")} or a protocol number 1-255`,
);

// By name and by IANA number: TCP 6, UDP 17, SCTP 132, UDPLite 136; ICMP 1, ICMPv6 58.
const PORT_PROTOCOLS = new Set<unknown>(["TCP", "UDP", "SCTP", "UDPLite", 6, 17, 132, 136]);
const ICMP_PROTOCOLS = new Map<unknown, 4 | 6>([
  ["ICMP", 4],
  [1, 4],
  ["ICMPv6", 6],
  [58, 6],
]);

function isPortNumber(text: string): boolean {
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 1 && n <= 65535;
}

function isRulePort(v: unknown): boolean {
  if (typeof v === "number") return Number.isInteger(v) && v >= 1 && v <= 65535;
  if (typeof v !== "string") return false;
  const range = /^(\d+):(\d+)$/.exec(v);
  if (range) return isPortNumber(range[1]!) && isPortNumber(range[2]!) && +range[1]! <= +range[2]!;
  return isPortNumber(v) || isPortName(v);
}

/** 80, "80", "8000:8100" (inclusive) or a named port such as "http". */
export const RulePortSchema = scalar<number | string>(
  isRulePort,
  'must be a port 1-65535, a range "min:max" or a port name',
);

const IcmpSchema = z
  .strictObject({ type: intInRange(0, 254).optional(), code: intInRange(0, 255).optional() })
  .superRefine((icmp, ctx) => {
    if (icmp.code !== undefined && icmp.type === undefined) {
      ctx.addIssue({ code: "custom", path: ["code"], message: "may not be set without type" });
    }
  });

export const EntityRuleSchema = z.strictObject({
  selector: selectorSchema().optional(),
  notSelector: selectorSchema().optional(),
  namespaceSelector: selectorSchema({ allowGlobal: true }).optional(),
  nets: z.array(NetSchema).optional(),
  notNets: z.array(NetSchema).optional(),
  ports: z.array(RulePortSchema).optional(),
  notPorts: z.array(RulePortSchema).optional(),
  serviceAccounts: z
    .strictObject({ names: z.array(z.string()).optional(), selector: selectorSchema().optional() })
    .optional(),
  services: z
    .strictObject({
      name: z.string().min(1, "must name a Service"),
      /** Unset: the policy's own namespace (a global policy must say). */
      namespace: z.string().min(1).optional(),
    })
    .optional(),
});

export type EntityRule = z.infer<typeof EntityRuleSchema>;

/** Calico's validator: a Service match stands alone on its side, its endpoints give the addresses. */
const NOT_WITH_SERVICES = [
  "selector",
  "notSelector",
  "namespaceSelector",
  "serviceAccounts",
  "nets",
  "notNets",
] as const;

const NET_FIELDS = ["nets", "notNets"] as const;
const PORT_FIELDS = ["ports", "notPorts"] as const;
const SIDES = ["source", "destination"] as const;

export const RuleSchema = z
  .strictObject({
    action: z.enum(["Allow", "Deny", "Log", "Pass"]),
    ipVersion: z.literal([4, 6]).optional(),
    protocol: RuleProtocolSchema.optional(),
    notProtocol: RuleProtocolSchema.optional(),
    icmp: IcmpSchema.optional(),
    notICMP: IcmpSchema.optional(),
    source: EntityRuleSchema.optional(),
    destination: EntityRuleSchema.optional(),
    metadata: z.strictObject({ annotations: AnnotationMapSchema.optional() }).optional(),
    http: refusedField(
      "L7 match not supported: an HTTP match narrows the rule, so ignoring it would allow more than written",
    ).optional(),
  })
  .superRefine((rule, ctx) => {
    const fail = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });

    for (const side of SIDES) {
      for (const field of PORT_FIELDS) {
        if (rule[side]?.[field]?.length && !PORT_PROTOCOLS.has(rule.protocol)) {
          fail([side, field], "requires protocol TCP, UDP, SCTP or UDPLite");
        }
      }
      if (rule[side]?.services === undefined) continue;
      for (const field of NOT_WITH_SERVICES) {
        if (rule[side][field] !== undefined) {
          fail([side, field], "cannot be combined with services (its endpoints are the peers)");
        }
      }
    }
    // A destination Service brings its endpoints' ports (Calico's validator).
    for (const field of PORT_FIELDS) {
      if (rule.destination?.services && rule.destination[field] !== undefined) {
        fail(
          ["destination", field],
          "cannot be combined with services (the Service's endpoints give the ports)",
        );
      }
    }

    const icmpVersion = ICMP_PROTOCOLS.get(rule.protocol);
    for (const field of ["icmp", "notICMP"] as const) {
      if (rule[field] !== undefined && icmpVersion === undefined) {
        fail([field], "requires protocol ICMP or ICMPv6");
      }
    }
    for (const field of ["protocol", "notProtocol"] as const) {
      const version = ICMP_PROTOCOLS.get(rule[field]);
      if (version !== undefined && rule.ipVersion !== undefined && version !== rule.ipVersion) {
        fail([field], `${rule[field]} does not match ipVersion ${rule.ipVersion}`);
      }
    }

    let seen: 4 | 6 | undefined;
    for (const side of SIDES) {
      for (const field of NET_FIELDS) {
        rule[side]?.[field]?.forEach((text, i) => {
          const family = parseCidrText(text, true)!.family;
          if (rule.ipVersion !== undefined && family !== rule.ipVersion) {
            fail([side, field, i], `is IPv${family} but ipVersion is ${rule.ipVersion}`);
          } else if (seen !== undefined && family !== seen) {
            fail([side, field, i], "mixes IPv4 and IPv6 in one rule");
          }
          seen ??= family;
        });
      }
    }
  });

export type Rule = z.infer<typeof RuleSchema>;
