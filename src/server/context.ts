// What every route of one server shares: the store, metrics, limits and the open watches
// (ended on close so the process can exit).
import type { Datastore, StoredResource } from "../datastore/index.ts";
import type { ServerMetrics } from "./metrics.ts";

export interface BodyLimits {
  /** Bytes of one object's create, replace or patch body. */
  readonly objectBytes: number;
  /** Bytes of a whole-set apply body. */
  readonly applyBytes: number;
}

export interface ServerContext {
  readonly store: Datastore;
  readonly metrics: ServerMetrics;
  readonly limits: BodyLimits;
  /** What a get or list shows of a stored object beyond the store (staged would-deny status). */
  readonly shown: (r: StoredResource) => StoredResource;
  /** Each open watch's end function. */
  readonly watches: Set<() => void>;
}
