// microseg.io/v1 GlobalAlert: a standing question over flow records, raised as alerts. Field
// names follow Calico's GlobalAlert (description, summary, severity, period, lookback,
// aggregateBy, field, metric, condition, threshold); where Calico has `dataSet` + `query`, this
// kind has `selector`, written in the selector language over flow fields, e.g.
// `action == "deny" && dest_port == "389"`.
import { z } from "zod";
import { MICROSEG_V1 } from "./api-versions.ts";
import { DurationSchema, intInRange, parseDuration, selectorSchema } from "./fields.ts";
import { clusterMeta } from "./meta.ts";
import { checkDnsSubdomain } from "./names.ts";

/**
 * The string fields of a flow record as alert selectors, aggregateBy and templates see them.
 * The flows stage must produce records with exactly these names. Ports and protocol are
 * strings (`dest_port == "389"`, `proto == "tcp"`) because selectors compare strings.
 */
export const FLOW_FIELDS = [
  "action", // "allow" | "deny": the verdict
  "reporter", // "src" | "dst": the side whose policy decided (egress at source, ingress at dest)
  "proto", // "tcp", "udp", "sctp", "icmp", "icmpv6" or the protocol number
  "policy", // the deciding policy; empty when no policy selected the endpoint
  "tier", // the deciding policy's tier
  "rule", // the deciding rule within that policy
  ...flowEndpointFields("source"),
  ...flowEndpointFields("dest"),
] as const;

function flowEndpointFields<P extends string>(side: P) {
  return [
    `${side}_ip`,
    `${side}_port`,
    `${side}_port_name`, // named port of the destination endpoint, when it has one
    `${side}_kind`, // "Pod", "WorkloadEndpoint", "HostEndpoint", "NetworkSet", ... or "net"
    `${side}_namespace`,
    `${side}_name`,
    `${side}_service_account`,
    `${side}_node`,
  ] as const;
}

/** Labels of either endpoint, as `source_labels.<key>` / `dest_labels.<key>`. */
export const FLOW_LABEL_PREFIXES = ["source_labels.", "dest_labels."] as const;

/** Numeric fields a metric other than count aggregates. */
export const FLOW_METRIC_FIELDS = ["packets", "bytes", "num_flows"] as const;

function checkFlowField(key: string): string | undefined {
  if ((FLOW_FIELDS as readonly string[]).includes(key)) return undefined;
  if (FLOW_LABEL_PREFIXES.some((p) => key.startsWith(p) && key.length > p.length)) return undefined;
  return `unknown flow field "${key}"`;
}

const FlowFieldSchema = z.string().superRefine((key, ctx) => {
  const problem = checkFlowField(key);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const TEMPLATE_VARIABLE = /\$\{([^}]*)\}/g;

export const GlobalAlertSchema = z.strictObject({
  apiVersion: z.literal(MICROSEG_V1),
  kind: z.literal("GlobalAlert"),
  metadata: clusterMeta(checkDnsSubdomain, "GlobalAlert"),
  spec: z
    .strictObject({
      /** Shown for each alert; may use `${field}` variables like summary. */
      description: z.string().min(1, "must not be empty"),
      /** Template of the alert's one-line text; description when unset. */
      summary: z.string().optional(),
      /** 1 (lowest) to 100 (highest), as in Calico; sinks map it to their own levels. */
      severity: intInRange(1, 100),
      /** Which flows count. Keys are FLOW_FIELDS or `source_labels.<key>` / `dest_labels.<key>`. */
      selector: selectorSchema({ checkKey: checkFlowField }),
      /** How often the alert is evaluated; "5m" when unset. */
      period: DurationSchema.optional(),
      /** How far back each evaluation looks; "10m" when unset. */
      lookback: DurationSchema.optional(),
      /** One alert per distinct combination of these fields; one per flow when unset. */
      aggregateBy: z.array(FlowFieldSchema).optional(),
      /** Unset: every matching flow (or group) alerts. */
      metric: z.enum(["count", "sum", "avg", "min", "max"]).optional(),
      /** The numeric field sum/avg/min/max apply to. */
      field: z.enum(FLOW_METRIC_FIELDS).optional(),
      condition: z.enum(["eq", "not_eq", "lt", "lte", "gt", "gte"]).optional(),
      threshold: z.number().optional(),
    })
    .superRefine((spec, ctx) => {
      const fail = (path: string, message: string) =>
        ctx.addIssue({ code: "custom", path: [path], message });
      if (spec.metric === undefined) {
        for (const f of ["field", "condition", "threshold"] as const) {
          if (spec[f] !== undefined) fail(f, "may only be set with metric");
        }
      } else {
        if (spec.condition === undefined) fail("condition", "required with metric");
        if (spec.threshold === undefined) fail("threshold", "required with metric");
        if (spec.metric === "count" && spec.field !== undefined) {
          fail("field", "may not be set when metric is count");
        }
        if (spec.metric !== "count" && spec.field === undefined) {
          fail("field", `required when metric is ${spec.metric}`);
        }
      }
      const period = spec.period && parseDuration(spec.period);
      const lookback = spec.lookback && parseDuration(spec.lookback);
      if (period && lookback && lookback < period) {
        fail("lookback", "must be at least period, or flows between evaluations are missed");
      }
      // With aggregateBy an alert carries only those fields (and the metric), as in Calico.
      const known = new Set<string>(spec.aggregateBy ?? FLOW_FIELDS);
      if (spec.metric) known.add(spec.metric);
      for (const f of ["description", "summary"] as const) {
        for (const [, name] of (spec[f] ?? "").matchAll(TEMPLATE_VARIABLE)) {
          const isLabel = !spec.aggregateBy && checkFlowField(name!) === undefined;
          if (!known.has(name!) && !isLabel) fail(f, `unknown variable \${${name}}`);
        }
      }
    }),
});

export type GlobalAlert = z.infer<typeof GlobalAlertSchema>;
