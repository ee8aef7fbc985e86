// Where the agent's resources come from. A source gives the whole set once, then ordered
// batches of changes; the manifest files are one source (manifest-source.ts), a datastore
// watch (sqlite, etcd, Kubernetes) is another behind the same interface.

import type { Resource, ResourceEvent } from "../model/index.ts";

export interface SourceSnapshot {
  /** Increases with every change; a later batch has a higher one. */
  readonly revision: number;
  readonly resources: readonly Resource[];
}

export interface SourceBatch {
  readonly revision: number;
  readonly events: readonly ResourceEvent[];
}

/** The source has no valid state to offer; the last good one stays in force. */
export class SourceError extends Error {
  readonly code = "datastore.source";
  constructor(
    message: string,
    /** One line per problem (a manifest error, say). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

export interface SourceListener {
  onBatch(batch: SourceBatch): void;
  onError(error: SourceError): void;
}

export interface ResourceSource {
  /** The resources as of now; rejects with a SourceError when there is no valid set. */
  snapshot(): Promise<SourceSnapshot>;
  /**
   * Calls back with every later change, in order, relative to the last snapshot or batch:
   * the first batch after a failed snapshot carries everything.
   */
  watch(listener: SourceListener): { stop(): void };
}
