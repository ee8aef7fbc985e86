// A Datastore as the resource source an agent follows: a snapshot, then the store's watch from
// its revision, each delivery one SourceBatch (the events one read of the change log brought,
// so a set applied together arrives together). When the watch expires (the change log was
// compacted past it) the source takes a fresh snapshot and sends only its difference from the
// last state it reported, so the agent sees changes, never a second full load. Other watch
// errors are reported and the watch is retried from the last revision with backoff.
//
// With `project`, the source keeps and passes on each object as the consumer needs it (an
// agent: another node's pod as its peer view, src/policy/peer-view.ts) instead of whole, and
// an update whose view is unchanged is not passed on: its batch still carries the revision,
// so the consumer knows it has seen it. The API server may hold such updates back itself
// (`peersOf`); its bookmark then moves the revision, and the source passes that on as an empty
// batch, so the consumer still reaches the store's revision.
import { type Resource, type ResourceEvent, resourceKey } from "../model/index.ts";
import { Backoff, type BackoffOptions } from "../util/backoff.ts";
import { type Projection, projectUpdate, whole } from "./projection.ts";
import { byKey, diffResources } from "./resource-diff.ts";
import {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "./source.ts";
import type { Datastore, DatastoreError, Watch } from "./types.ts";

/** What the source needs of a store: a Datastore, or the API client in front of one. */
export type WatchableStore = Pick<Datastore, "snapshot" | "watch">;

export interface DatastoreSourceOptions {
  /** Bookmarks keep the resume revision fresh on a quiet store; 10 s by default. */
  readonly bookmarkMs?: number;
  /**
   * Waits between retries after a failed watch or snapshot: 250 ms doubling to 5 s, jittered
   * (util/Backoff), so every node's agent that lost one store does not come back in step.
   */
  readonly retryMs?: BackoffOptions;
  /** What of each object the consumer keeps; the whole object when absent. */
  readonly project?: Projection;
}

function toSourceError(e: unknown, what: string): SourceError {
  const message = e instanceof Error ? e.message : String(e);
  return new SourceError(`datastore ${what} failed: ${message}`);
}

export class DatastoreSource implements ResourceSource {
  readonly #store: WatchableStore;
  readonly #bookmarkMs: number;
  readonly #retry: BackoffOptions;
  readonly #project: Projection;
  /** What the consumer has been given, by key; undefined until a snapshot succeeded. */
  #state: Map<string, Resource> | undefined;
  #revision = 0;

  constructor(store: WatchableStore, opts: DatastoreSourceOptions = {}) {
    this.#store = store;
    this.#bookmarkMs = opts.bookmarkMs ?? 10_000;
    this.#retry = opts.retryMs ?? { first: 250, max: 5_000 };
    this.#project = opts.project ?? whole;
  }

  #items(items: readonly Resource[]): readonly Resource[] {
    return this.#project === whole ? items : items.map(this.#project);
  }

  async snapshot(): Promise<SourceSnapshot> {
    let snap: Awaited<ReturnType<Datastore["snapshot"]>>;
    try {
      snap = await this.#store.snapshot();
    } catch (e) {
      throw toSourceError(e, "snapshot");
    }
    const resources = this.#items(snap.items);
    this.#state = byKey(resources);
    this.#revision = snap.revision;
    return { revision: snap.revision, resources };
  }

  watch(listener: SourceListener): { stop(): void } {
    let stopped = false;
    let watch: Watch | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const backoff = new Backoff(this.#retry);
    let pending: ResourceEvent[] = [];
    let scheduled = false;

    const deliver = (batch: SourceBatch): void => {
      if (!stopped) listener.onBatch(batch);
    };
    const flush = (): void => {
      if (!scheduled) return;
      scheduled = false;
      const events = pending;
      pending = [];
      deliver({ revision: this.#revision, events });
    };
    /** The revision moved: a batch goes out at the end of this turn, with whatever came. */
    const moved = (revision: number): void => {
      this.#revision = revision;
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(flush);
    };
    const later = (step: () => void): void => {
      retryTimer = setTimeout(step, backoff.next());
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
            backoff.reset();
            if (e.type === "BOOKMARK") {
              if (e.revision <= this.#revision) return;
              // Changes the server held back (`peersOf`): nothing to apply, but the revision moved.
              moved(e.revision);
              return;
            }
            moved(e.revision);
            const key = resourceKey(e.object);
            if (e.type === "DELETED") {
              state.delete(key);
              pending.push({ type: "delete", key, revision: e.revision });
              return;
            }
            const resource = projectUpdate(this.#project, state.get(key), e.object);
            if (resource === undefined) return;
            state.set(key, resource);
            pending.push({ type: "upsert", resource, revision: e.revision });
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
      const next = byKey(this.#items(snap.items));
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
