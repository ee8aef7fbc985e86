// The agent's status, published as events after every apply, failed apply, rejected source and
// drift check. Subscribers decide where it goes: the status and ready files (below), the API
// server (`PUT /api/v1/agents/{node}/status`), the lab.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface AgentStatus {
  readonly node: string;
  /** The source revision the kernel enforces; 0 before the first sync. */
  readonly revision: number;
  /** When the kernel last took a transaction (ISO 8601). */
  readonly appliedAt?: string;
  /** Whether the first full sync has happened. */
  readonly ready: boolean;
  readonly resources: number;
  readonly endpoints: number;
  readonly policies: number;
  readonly sets: number;
  /** The last failure (rejected resources, a failed transaction), until an apply succeeds. */
  readonly lastError?: string;
  /** The last drift check. */
  readonly drift?: { readonly checkedAt: string; readonly objects: readonly string[] };
}

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
