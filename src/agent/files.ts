// The agent's ready and status files. Written to a temporary name and renamed into place, so a
// reader (the lab, a test, a probe) sees the old file or the new one, never half of one.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/** What `--status-file` holds after every apply (and every failed one). */
export interface AgentStatus {
  readonly node: string;
  /** The source revision the kernel enforces; 0 before the first sync. */
  readonly revision: number;
  /** When the kernel last took a transaction (ISO 8601). */
  readonly appliedAt?: string;
  /** Whether the first full sync has happened (the ready file exists). */
  readonly ready: boolean;
  readonly resources: number;
  readonly endpoints: number;
  readonly policies: number;
  readonly sets: number;
  /** The last failure (rejected manifests, a failed transaction), until an apply succeeds. */
  readonly lastError?: string;
  /** The last drift check. */
  readonly drift?: { readonly checkedAt: string; readonly objects: readonly string[] };
}
