// Messages between a session (session.ts) and its worker thread (worker.ts).

import type { Family } from "./ast.ts";

export interface WorkerData {
  /** Network namespace the worker enters before opening libnftables; its own when unset. */
  readonly netns: string | undefined;
}

export interface WorkerRequest {
  readonly id: number;
  /** run: `nft -f`; check: `nft -c -f`; list: `nft -j` (JSON output). */
  readonly op: "run" | "check" | "list";
  readonly script: string;
}

/** The handles of a table's rules (rule-handles.ts); answered as JSON `[chain, handles][]`. */
export interface WorkerHandlesRequest {
  readonly id: number;
  readonly op: "handles";
  readonly family: Family;
  readonly table: string;
  /** Every chain of the table when unset. */
  readonly chains?: readonly string[];
}

/** Frees the context (its netlink socket and memory file) and ends the thread. */
export interface WorkerClose {
  readonly op: "close";
}

export type WorkerReply =
  | { readonly kind: "ready" }
  | { readonly kind: "fatal"; readonly message: string }
  | {
      readonly kind: "result";
      readonly id: number;
      readonly rc: number;
      readonly output: string;
      readonly error: string;
    };
