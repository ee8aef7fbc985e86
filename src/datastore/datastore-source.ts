// A Datastore as the resource source an agent follows: a snapshot, then the store's watch from
// its revision, each delivery one SourceBatch (the events one read of the change log brought,
// so a set applied together arrives together). When the watch expires (the change log was
// compacted past it) the source takes a fresh snapshot and sends only its difference from the
// last state it reported, so the agent sees changes, never a second full load. Other watch
// errors are reported and the watch is retried from the last revision with backoff.
import { type Resource, type ResourceEvent, resourceKey } from "../model/index.ts";
import { byKey, diffResources } from "./resource-diff.ts";
import {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "./source.ts";
import type { Datastore, DatastoreError, Watch, WatchEvent } from "./types.ts";

/** What the source needs of a store: a Datastore, or the API client in front of one. */
export type WatchableStore = Pick<Datastore, "snapshot" | "watch">;

export interface DatastoreSourceOptions {
  /** Bookmarks keep the resume revision fresh on a quiet store; 10 s by default. */
  readonly bookmarkMs?: number;
  /** Backoff between retries after a failed watch or snapshot; 250 ms doubling to 5 s. */
  readonly retryMs?: { readonly first: number; readonly max: number };
}

function toSourceError(e: unknown, what: string): SourceError {
  const message = e instanceof Error ? e.message : String(e);
  return new SourceError(`datastore ${what} failed: ${message}`);
}

function toEvent(e: Exclude<WatchEvent, { type: "BOOKMARK" }>): ResourceEvent {
  return e.type === "DELETED"
    ? { type: "delete", key: resourceKey(e.object), revision: e.revision }
    : { type: "upsert", resource: e.object, revision: e.revision };
}

export class DatastoreSource implements ResourceSource {
  readonly #store: WatchableStore;
  readonly #bookmarkMs: number;
  readonly #retry: { readonly first: number; readonly max: number };
  /** What the consumer has been given, by key; undefined until a snapshot succeeded. */
  #state: Map<string, Resource> | undefined;
  #revision = 0;

  constructor(store: WatchableStore, opts: DatastoreSourceOptions = {}) {
    this.#store = store;
    this.#bookmarkMs = opts.bookmarkMs ?? 10_000;
    this.#retry = opts.retryMs ?? { first: 250, max: 5_000 };
  }

  async snapshot(): Promise<SourceSnapshot> {
    let snap: Awaited<ReturnType<Datastore["snapshot"]>>;
    try {
      snap = await this.#store.snapshot();
    } catch (e) {
      throw toSourceError(e, "snapshot");
    }
    this.#state = byKey(snap.items);
    this.#revision = snap.revision;
    return { revision: snap.revision, resources: snap.items };
  }

  watch(listener: SourceListener): { stop(): void } {
    let stopped = false;
    let watch: Watch | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let delay = this.#retry.first;
    let pending: ResourceEvent[] = [];

    const deliver = (batch: SourceBatch): void => {
      if (!stopped) listener.onBatch(batch);
    };
    const flush = (): void => {
      if (pending.length === 0) return;
      const events = pending;
      pending = [];
      deliver({ revision: this.#revision, events });
    };
    const later = (step: () => void): void => {
      retryTimer = setTimeout(step, delay);
      delay = Math.min(delay * 2, this.#retry.max);
    };
    const follow = (): void => {
      if (stopped) return;
      if (this.#state === undefined) {
        void resync();
        return;
      }
      const state = this.#state;
      watch = this.#store.watch(
        { fromRevision: this.#revision, bookmarkMs: this.#bookmarkMs },
        {
          onEvent: (e) => {
            if (stopped) return;
            delay = this.#retry.first;
            if (e.type === "BOOKMARK") {
              this.#revision = Math.max(this.#revision, e.revision);
              return;
            }
            const event = toEvent(e);
            if (event.type === "delete") state.delete(event.key);
            else state.set(resourceKey(event.resource), event.resource);
            this.#revision = e.revision;
            if (pending.push(event) === 1) queueMicrotask(flush);
          },
          onError: (err: DatastoreError) => {
            if (stopped) return;
            watch = undefined;
            flush();
            if (err.code === "Expired") {
              void resync();
              return;
            }
            listener.onError(toSourceError(err, "watch"));
            later(follow);
          },
        },
      );
    };
    // A fresh snapshot, and to the consumer only what differs from what it was given.
    const resync = async (): Promise<void> => {
      const before = this.#state;
      let snap: Awaited<ReturnType<Datastore["snapshot"]>>;
      try {
        snap = await this.#store.snapshot();
      } catch (e) {
        if (stopped) return;
        listener.onError(toSourceError(e, "snapshot"));
        later(() => void resync());
        return;
      }
      if (stopped) return;
      const next = byKey(snap.items);
      const events = diffResources(before ?? new Map(), next, snap.revision);
      this.#state = next;
      this.#revision = snap.revision;
      // After a failed snapshot the consumer has nothing: it gets everything, even if empty.
      if (events.length > 0 || before === undefined) deliver({ revision: snap.revision, events });
      follow();
    };

    follow();
    return {
      stop: () => {
        stopped = true;
        watch?.stop();
        clearTimeout(retryTimer);
      },
    };
  }
}
