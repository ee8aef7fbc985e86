// A resource source that tests drive by hand: push a batch and every watcher has it before
// push returns. No timers, no polling, so tests of what consumes a source need no waiting.
import { type Resource, type ResourceEvent, resourceKey } from "../model/index.ts";
import type {
  ResourceSource,
  SourceBatch,
  SourceError,
  SourceListener,
  SourceSnapshot,
} from "./source.ts";

export class MemorySource implements ResourceSource {
  readonly #objects = new Map<string, Resource>();
  readonly #listeners = new Set<SourceListener>();
  #revision = 0;
  #snapshotError: SourceError | undefined;

  constructor(initial: readonly Resource[] = []) {
    for (const r of initial) this.#objects.set(resourceKey(r), r);
  }

  get revision(): number {
    return this.#revision;
  }

  /** The current objects, by key. */
  get objects(): ReadonlyMap<string, Resource> {
    return this.#objects;
  }

  async snapshot(): Promise<SourceSnapshot> {
    if (this.#snapshotError) throw this.#snapshotError;
    return { revision: this.#revision, resources: [...this.#objects.values()] };
  }

  watch(listener: SourceListener): { stop(): void } {
    this.#listeners.add(listener);
    return { stop: () => this.#listeners.delete(listener) };
  }

  /** Applies the events as one batch at the next revision and hands it to every watcher. */
  push(events: readonly ResourceEvent[]): SourceBatch {
    const revision = ++this.#revision;
    const stamped = events.map((e) => ({ ...e, revision }));
    for (const e of stamped) {
      if (e.type === "delete") this.#objects.delete(e.key);
      else this.#objects.set(resourceKey(e.resource), e.resource);
    }
    const batch: SourceBatch = { revision, events: stamped };
    for (const l of [...this.#listeners]) l.onBatch(batch);
    return batch;
  }

  upsert(...resources: Resource[]): SourceBatch {
    return this.push(resources.map((resource) => ({ type: "upsert", resource })));
  }

  remove(...keys: string[]): SourceBatch {
    return this.push(keys.map((key) => ({ type: "delete", key })));
  }

  /** Reports `error` to every watcher, as a source that lost its valid state. */
  fail(error: SourceError): void {
    for (const l of [...this.#listeners]) l.onError(error);
  }

  /** Makes snapshot() reject with `error` until called again with undefined. */
  failSnapshots(error: SourceError | undefined): void {
    this.#snapshotError = error;
  }
}
