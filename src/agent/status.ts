// The agent's status, published as events after every apply, failed apply, rejected source and
// drift check. Subscribers decide where it goes: the status and ready files (below), the API
// server (`PUT /api/v1/agents/{node}/status`), the lab.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";

/** The status as it travels (status file, API); the schema is the type's one source. */
export const AgentStatusSchema = z.strictObject({
  node: z.string().min(1),
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
});

export type AgentStatus = z.infer<typeof AgentStatusSchema>;

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
