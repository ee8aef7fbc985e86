// The Kubernetes API as the resource source an agent follows (`--datastore kubernetes`): one
// Reflector per watched kind, each with its own resourceVersion (they are opaque per
// resource type, so the source keeps its own batch counter as the revision). The kinds' events
// of one turn of the event loop arrive as one batch. Writes go through kubectl: the source is
// read-only, the Kubernetes API is the store.
//
// Node scoping (`project: peerView(node)`): the source still lists and watches every pod, as
// Felix does without Typha (selectors need every peer, and the Kubernetes API serves no peer
// views), but keeps and passes on other nodes' pods as their peer views, so the engine holds
// and computes only those, and an update of another node's pod that leaves its view as it was
// (a condition, a restart count, an annotation) stops here.
import type { ResourceEvent } from "../../model/index.ts";
import { Backoff } from "../../util/backoff.ts";
import { whole } from "../projection.ts";
import {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "../source.ts";
import { WATCHED_KINDS } from "./kinds.ts";
import { Reflector, type ReflectorOptions } from "./reflector.ts";
import type { KubeApi } from "./transport.ts";

export interface KubernetesSourceOptions extends Partial<ReflectorOptions> {
  readonly kinds?: typeof WATCHED_KINDS;
}

function toSourceError(e: unknown): SourceError {
  if (e instanceof SourceError) return e;
  return new SourceError(`Kubernetes list failed: ${e instanceof Error ? e.message : String(e)}`);
}

export class KubernetesSource implements ResourceSource {
  readonly #reflectors: readonly Reflector[];
  readonly #retry: ReflectorOptions["retryMs"];
  #revision = 0;

  constructor(api: KubeApi, opts: KubernetesSourceOptions = {}) {
    const full: ReflectorOptions = {
      pageSize: opts.pageSize ?? 500,
      // Spread over 5 to 10 minutes as client-go does, so reopened watches do not bunch up.
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
      retryMs: opts.retryMs ?? { first: 250, max: 5_000 },
      project: opts.project ?? whole,
    };
    this.#retry = full.retryMs;
    this.#reflectors = (opts.kinds ?? WATCHED_KINDS).map((k) => new Reflector(k, api, full));
  }

  /** Every kind listed; the kinds' resourceVersions are where their watches start. */
  async snapshot(): Promise<SourceSnapshot> {
    try {
      const lists = await Promise.all(this.#reflectors.map((r) => r.load()));
      return { revision: ++this.#revision, resources: lists.flat() };
    } catch (e) {
      throw toSourceError(e);
    }
  }

  watch(listener: SourceListener): { stop(): void } {
    let stopped = false;
    let pending: ResourceEvent[] = [];
    let timer: NodeJS.Timeout | undefined;
    const backoff = new Backoff(this.#retry);
    const follows: { stop(): void }[] = [];

    const flush = (): void => {
      if (stopped || pending.length === 0) return;
      const revision = ++this.#revision;
      const events = pending.map((e) => ({ ...e, revision }));
      pending = [];
      const batch: SourceBatch = { revision, events };
      listener.onBatch(batch);
    };
    const reflectorListener = {
      onEvents: (events: readonly ResourceEvent[]) => {
        if (stopped) return;
        if (pending.length === 0) queueMicrotask(flush);
        pending.push(...events);
      },
      onError: (error: SourceError) => {
        if (!stopped) listener.onError(error);
      },
    };
    // After a failed snapshot the consumer has nothing: the kinds not yet listed are listed
    // (retried with backoff) and arrive together as the first batch, even if empty.
    const start = async (): Promise<void> => {
      const missing = this.#reflectors.filter((r) => !r.listed);
      if (missing.length > 0) {
        let loaded: Awaited<ReturnType<Reflector["load"]>>[];
        try {
          loaded = await Promise.all(missing.map((r) => r.load()));
        } catch (e) {
          if (stopped) return;
          listener.onError(toSourceError(e));
          timer = setTimeout(() => void start(), backoff.next());
          return;
        }
        if (stopped) return;
        const revision = ++this.#revision;
        listener.onBatch({
          revision,
          events: loaded.flat().map((resource) => ({ type: "upsert", resource, revision })),
        });
      }
      for (const r of this.#reflectors) follows.push(r.follow(reflectorListener));
    };

    void start();
    return {
      stop: () => {
        stopped = true;
        clearTimeout(timer);
        for (const f of follows) f.stop();
      },
    };
  }
}
