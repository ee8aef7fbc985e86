// What agents send the API server and the server sends back: flow records and alerts as JSON.
// One zod schema per shape; the in-process types (FlowRecord of aggregate.ts, Alert of
// alerts.ts) are checked against them at compile time, so a field added on one side and not
// the other fails `tsc`, not a node at run time.
import { z } from "zod";
import { FLOW_FIELDS } from "../model/index.ts";
import type { FlowRecord } from "./aggregate.ts";
import type { Alert } from "./alerts.ts";

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();
const labels = z.record(z.string(), z.string());

/** Every flow field, each a string (empty when it does not apply); no others. */
export const FlowFieldsSchema = z.strictObject(
  Object.fromEntries(FLOW_FIELDS.map((f) => [f, z.string()])) as Record<
    (typeof FLOW_FIELDS)[number],
    z.ZodString
  >,
);

const FlowRecordObject = z.strictObject({
  start: epochMs,
  end: epochMs,
  fields: FlowFieldsSchema,
  sourceLabels: labels,
  destLabels: labels,
  packets: count,
  bytes: count,
  connections: count,
  logs: count,
  firstSeen: epochMs,
  lastSeen: epochMs,
  reason: z.string(),
  isolatedBy: z.array(z.string()),
  wouldDeny: count,
  wouldDenyBy: z.array(z.string()),
});

export const FlowRecordSchema = FlowRecordObject.refine((r) => r.end > r.start, {
  message: "must be after start",
  path: ["end"],
}).refine((r) => r.lastSeen >= r.firstSeen, {
  message: "must not be before firstSeen",
  path: ["lastSeen"],
});

export const AlertSchema = z.strictObject({
  time: z.iso.datetime({ offset: true }),
  alert: z.string().min(1),
  severity: z.number().int().min(1).max(100),
  summary: z.string(),
  description: z.string(),
  source: z.string(),
  destination: z.string(),
  port: z.string(),
  protocol: z.string(),
  policy: z.string(),
  action: z.string(),
  reason: z.string(),
  count: z.number().int().positive(),
  value: z.number().optional(),
  fields: z.record(z.string(), z.string()),
});

/** A node name as agents report it (the agent status' `node`). */
const NodeSchema = z.string().min(1).max(253);

const storedBy = { id: z.number().int().positive(), node: z.string() };

/** A record as the server serves it: the reporting node and its store id. */
export const StoredFlowRecordSchema = FlowRecordObject.extend(storedBy);

/** An alert as the server serves it: its id, the node that raised it, acknowledgement. */
export const StoredAlertSchema = AlertSchema.extend({
  ...storedBy,
  acknowledgedAt: z.iso.datetime({ offset: true }).optional(),
});

/** Records per POST at most: an agent sends a few hundred per interval, in batches below this. */
export const MAX_RECORDS_PER_POST = 10_000;
export const MAX_ALERTS_PER_POST = 1_000;

/**
 * Items the agent dropped since its last accepted post (its buffer was full while the server
 * was away); it resets its count only once a post carrying it is accepted.
 */
const dropped = count.optional();

/** `POST /api/v1/flows`. */
export const FlowsBodySchema = z.strictObject({
  node: NodeSchema,
  records: z.array(FlowRecordSchema).max(MAX_RECORDS_PER_POST),
  dropped,
});

/** `POST /api/v1/alerts`. */
export const AlertsBodySchema = z.strictObject({
  node: NodeSchema,
  alerts: z.array(AlertSchema).max(MAX_ALERTS_PER_POST),
  dropped,
});

export type FlowsBody = z.infer<typeof FlowsBodySchema>;
export type AlertsBody = z.infer<typeof AlertsBodySchema>;

export interface StoredFlowRecord extends FlowRecord {
  readonly id: number;
  readonly node: string;
}

export interface StoredAlert extends Alert {
  readonly id: number;
  readonly node: string;
  /** When acknowledged (ISO 8601), absent until then. */
  readonly acknowledgedAt?: string;
}

/** The answer of `POST /api/v1/flows` and `/alerts`: how many were taken. */
export interface IngestResult {
  readonly accepted: number;
}

// Compile-time: the schemas and the in-process types describe the same objects, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? E[] : T[K] };
type Check<T extends true> = T;
export type _FlowRecordMatches = Check<
  Same<Mutable<FlowRecord>, Mutable<z.infer<typeof FlowRecordSchema>>>
>;
export type _AlertMatches = Check<Same<Mutable<Alert>, Mutable<z.infer<typeof AlertSchema>>>>;
export type _StoredFlowRecordMatches = Check<
  Same<Mutable<StoredFlowRecord>, Mutable<z.infer<typeof StoredFlowRecordSchema>>>
>;
export type _StoredAlertMatches = Check<
  Same<Mutable<StoredAlert>, Mutable<z.infer<typeof StoredAlertSchema>>>
>;
