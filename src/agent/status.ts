// The agent's status, published as events after every apply, failed apply, rejected source and
// drift check. Subscribers decide where it goes: the status and ready files (below), the API
// server (`PUT /api/v1/agents/{node}/status`), the lab.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";

/** The status as it travels (status file, API); the schema is the type's one source. */
/**
 * One nft counter total of the node's policy chains: the packets that reached a policy's rules
 * (policy chains only see packets that are not part of an established connection, so for TCP
 * these are connection attempts), by tier, policy, direction and what the rules did with them.
 * `rule` is the rule's index in its policy when the rule carries an NFLOG prefix (Deny, Log,
 * and Allow rules when allowed connections are logged); otherwise the policy's total.
 */
export const PolicyCounterSchema = z.strictObject({
  tier: z.string(),
  policy: z.string(),
  direction: z.enum(["ingress", "egress"]),
  rule: z.number().int().nonnegative().optional(),
  action: z.enum(["allow", "deny", "pass", "log"]),
  packets: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});

/** What shipping flow records and alerts to the API server (or a file) has done so far. */
export const ShippingStatusSchema = z.strictObject({
  /** `api` (the server's flow ingest) or `file` (JSON lines, manifest mode). */
  to: z.enum(["api", "file"]),
  records: z.strictObject({
    sent: z.number().int().nonnegative(),
    queued: z.number().int().nonnegative(),
    dropped: z.number().int().nonnegative(),
  }),
  alerts: z.strictObject({
    sent: z.number().int().nonnegative(),
    queued: z.number().int().nonnegative(),
    dropped: z.number().int().nonnegative(),
  }),
  failures: z.number().int().nonnegative(),
  lastError: z.string().optional(),
});

/** The node's flow logs: capture health, what was read and raised, shipping, nft counters. */
export const FlowsStatusSchema = z.strictObject({
  enabled: z.boolean(),
  /** Why flows are off (no ulogd2 installed, `--no-flows`), or why capture failed. */
  reason: z.string().optional(),
  /** Allowed new connections are logged 1 in `sample` (denies and Log hits always). */
  sample: z.number().int().positive().optional(),
  ulogd: z
    .strictObject({
      state: z.enum(["starting", "running", "restarting", "stopped"]),
      /** Whether connection ends (conntrack's packet and byte counts) are read. */
      conntrack: z.boolean().optional(),
      pid: z.number().int().optional(),
      restarts: z.number().int().nonnegative(),
      since: z.string().optional(),
      lastExit: z
        .strictObject({
          code: z.number().int().nullable(),
          signal: z.string().nullable(),
          at: z.string(),
        })
        .optional(),
    })
    .optional(),
  /**
   * NFLOG records read; lines that did not parse; times ulogd2 reported that the kernel dropped
   * records (its socket buffer was full: at least one record each time).
   */
  records: z.number().int().nonnegative(),
  badRecords: z.number().int().nonnegative(),
  /** Connection ends read from conntrack, and those a logged connection was theirs. */
  connectionEnds: z.number().int().nonnegative().optional(),
  connectionsCounted: z.number().int().nonnegative().optional(),
  lossReports: z.number().int().nonnegative(),
  /** Flow logs by action, and alerts raised by alert name. */
  byAction: z.record(z.string(), z.number().int().nonnegative()),
  alerts: z.record(z.string(), z.number().int().nonnegative()),
  /** Flow logs the staged program would deny, per staged policy. */
  wouldDeny: z.record(z.string(), z.number().int().nonnegative()),
  shipping: ShippingStatusSchema.optional(),
  /** Policy chain counters as last read from the kernel, and when. */
  counters: z.array(PolicyCounterSchema).optional(),
  countersAt: z.string().optional(),
});

export const AgentStatusSchema = z.strictObject({
  node: z.string().min(1),
  /** When this agent started (ISO 8601): a restarted agent reports a new one. */
  startedAt: z.string().optional(),
  /** The source revision the kernel enforces; 0 before the first sync. */
  revision: z.number().int().nonnegative(),
  /** When the kernel last took a transaction (ISO 8601). */
  appliedAt: z.string().optional(),
  /** Whether the first full sync has happened. */
  ready: z.boolean(),
  resources: z.number().int().nonnegative(),
  endpoints: z.number().int().nonnegative(),
  policies: z.number().int().nonnegative(),
  sets: z.number().int().nonnegative(),
  /** Full renders of the table so far (start-up, resync, drift repair); the rest were deltas. */
  fullSyncs: z.number().int().nonnegative(),
  /** The last failure (rejected resources, a failed transaction), until an apply succeeds. */
  lastError: z.string().optional(),
  /** The last drift check. */
  drift: z.strictObject({ checkedAt: z.string(), objects: z.array(z.string()) }).optional(),
  /** Flow logs on this node; absent from agents that predate them. */
  flows: FlowsStatusSchema.optional(),
});

export type AgentStatus = z.infer<typeof AgentStatusSchema>;
export type FlowsStatus = z.infer<typeof FlowsStatusSchema>;
export type PolicyCounter = z.infer<typeof PolicyCounterSchema>;
export type ShippingStatus = z.infer<typeof ShippingStatusSchema>;

export type StatusListener = (status: AgentStatus) => void;

/** Written to a temporary name and renamed into place: a reader sees the old file or the new one. */
export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/** `--status-file`: the latest status, rewritten on every event. */
export function statusFileWriter(path: string): StatusListener {
  return (status) => writeJsonAtomic(path, status);
}

/** `--ready-file`: written once, when the first full sync is in the kernel. */
export function readyFileWriter(path: string): StatusListener {
  let written = false;
  return (status) => {
    if (written || !status.ready) return;
    written = true;
    writeJsonAtomic(path, {
      node: status.node,
      revision: status.revision,
      readyAt: status.appliedAt,
    });
  };
}

/**
 * A status listener that sends through `send` (the API server, say) one status at a time and
 * always the latest: a slow or absent receiver never queues stale statuses and never blocks the
 * agent. A failed send is retried with the next status.
 */
export function latestStatusSender(
  send: (status: AgentStatus) => Promise<void>,
  onError: (error: unknown) => void,
): StatusListener {
  let pending: AgentStatus | undefined;
  let sending = false;
  const drain = async () => {
    sending = true;
    while (pending) {
      const status = pending;
      pending = undefined;
      try {
        await send(status);
      } catch (e) {
        onError(e);
      }
    }
    sending = false;
  };
  return (status) => {
    pending = status;
    if (!sending) void drain();
  };
}
