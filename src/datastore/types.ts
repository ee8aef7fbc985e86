// The one interface every store implements (SQLite embedded, etcd, Kubernetes), shaped after the
// Kubernetes API: objects keyed by kind, namespace and name; one revision counter for the whole
// store (etcd's, Kubernetes' resourceVersion); writes with compare-and-swap on resourceVersion;
// a watch from any revision still in the change log. The contract suite
// (test/datastore/contract.ts) holds every implementation to it.
import type { KindInfo, Resource, ResourceIssue } from "../model/index.ts";

/** An object as the store holds it: metadata.resourceVersion, uid, creationTimestamp set. */
export type StoredResource = Resource;

/** Which kind: the registry's entry (apiVersion and kind); projectcalico.org is microseg.io. */
export type KindRef = Pick<KindInfo, "apiVersion" | "kind">;

export interface ObjectRef {
  readonly kind: KindRef;
  /** Required for namespaced kinds, absent for cluster-scoped ones. */
  readonly namespace?: string;
  readonly name: string;
}

export interface ListOptions {
  readonly kind: KindRef;
  /** Only this namespace; every namespace when absent (cluster-scoped kinds ignore it). */
  readonly namespace?: string;
  /** A Kubernetes label selector (`app=web,tier in (a,b),!legacy`). */
  readonly labelSelector?: string;
  /** `metadata.name=x`, `metadata.namespace!=y`, comma-joined, as Kubernetes takes them. */
  readonly fieldSelector?: string;
}

export interface ListResult {
  /** Sorted by namespace, then name. */
  readonly items: readonly StoredResource[];
  /** The store's revision the list was read at: a watch from it misses nothing. */
  readonly revision: number;
}

/** Preconditions of a write: the write happens only if the stored object still has them. */
export interface Preconditions {
  /** The stored object's metadata.resourceVersion must equal this. */
  readonly resourceVersion?: string;
}

export interface ApplyResult {
  readonly revision: number;
  /** Per object, in input order: what the apply did to it. */
  readonly results: readonly {
    readonly object: StoredResource;
    readonly action: "created" | "configured" | "unchanged";
  }[];
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export type WatchEvent =
  | {
      readonly type: WatchEventType;
      /** For DELETED, the object as it last was, with the deleting revision. */
      readonly object: StoredResource;
      readonly revision: number;
    }
  /** Nothing for this watch up to `revision`: resume from there (Kubernetes' BOOKMARK). */
  | { readonly type: "BOOKMARK"; readonly revision: number };

export interface WatchOptions {
  /** Only this kind; every kind when absent (one connection per agent carries all). */
  readonly kind?: KindRef;
  readonly namespace?: string;
  /** Events after this revision (exclusive), as Kubernetes' resourceVersion on a watch. */
  readonly fromRevision: number;
  /** Send a BOOKMARK after this much quiet (ms); none when absent. */
  readonly bookmarkMs?: number;
}

export interface WatchListener {
  /** Events in revision order; a revision is never repeated, none after it is skipped. */
  onEvent(event: WatchEvent): void;
  /** The watch ended; ExpiredError when fromRevision was compacted away. */
  onError(error: DatastoreError): void;
}

export interface Watch {
  stop(): void;
}

/**
 * What a write takes: a Resource, or decoded JSON as it came (the API server's request bodies).
 * The store validates either itself; it is the one validation of every write.
 */
export type WriteInput = Resource | Readonly<Record<string, unknown>>;

/**
 * Every write validates its objects itself (the model's parseResource, the same defaults), so a
 * caller may pass decoded JSON as it came: Invalid carries each issue with its field path (in an
 * apply, prefixed with the object's index: `items[2].spec.tier`).
 */
export interface Datastore {
  get(ref: ObjectRef): Promise<StoredResource>;
  list(opts: ListOptions): Promise<ListResult>;
  /** AlreadyExists when present; Invalid (with every issue) when the object or a reference is bad. */
  create(resource: WriteInput): Promise<StoredResource>;
  /**
   * Replaces the stored object. metadata.resourceVersion, when set, is a precondition (Conflict
   * when stale), as a Kubernetes PUT; absent, the write is unconditional.
   */
  update(resource: WriteInput): Promise<StoredResource>;
  delete(ref: ObjectRef, preconditions?: Preconditions): Promise<StoredResource>;
  /**
   * Creates or replaces every object as ONE transaction: all of them or none (one bad object,
   * a broken reference, a stale resourceVersion: nothing changes). Each changed object gets its
   * own revision, consecutive within the set, so a watcher resuming from any event's revision
   * misses nothing; `ApplyResult.revision` is the last (the store's, when nothing changed).
   */
  apply(resources: readonly WriteInput[]): Promise<ApplyResult>;
  /** Every object of every kind at one revision: an agent's full sync. */
  snapshot(): Promise<{ readonly items: readonly StoredResource[]; readonly revision: number }>;
  watch(opts: WatchOptions, listener: WatchListener): Watch;
  /** The revision of the last write. */
  revision(): Promise<number>;
  /** Forgets change-log entries at or below `revision`; watches from there get ExpiredError. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type DatastoreErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "Expired"
  | "Unavailable";

/** Typed store errors; the API server maps each code to its Kubernetes Status (404, 409, 422, 410). */
export class DatastoreError extends Error {
  constructor(
    readonly code: DatastoreErrorCode,
    message: string,
    /** For Invalid: each problem with its field path (`spec.tier`). */
    readonly issues: readonly ResourceIssue[] = [],
    /** The object the error is about, as `Kind ns/name`, when there is one. */
    readonly object?: string,
  ) {
    super(message);
    this.name = "DatastoreError";
  }
}

export class ExpiredError extends DatastoreError {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super("Expired", `revision ${requested} is compacted (oldest kept: ${compacted + 1})`);
  }
}
