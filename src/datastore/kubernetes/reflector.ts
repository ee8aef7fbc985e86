// One kind's list and watch, as client-go's reflector does it: a list read in pages
// (limit/continue) gives the objects and the resourceVersion to watch from; the watch
// (allowWatchBookmarks) moves that resourceVersion with every event and bookmark, and a watch
// the server closes is reopened from it, so nothing is missed or seen twice. A watch whose
// resourceVersion is too old (410 Gone, as an ERROR event or as the response) relists and
// reports only the difference from what it had, so its consumer's state never has a gap.
// With a projection (an agent's peer views) it keeps and reports each object as projected,
// and an update whose projection is unchanged is not reported at all.
import {
  type KindInfo,
  parseResource,
  type Resource,
  type ResourceEvent,
  resourceKey,
} from "../../model/index.ts";
import { Backoff } from "../../util/backoff.ts";
import { type Projection, projectUpdate } from "../projection.ts";
import { diffResources } from "../resource-diff.ts";
import { SourceError } from "../source.ts";
import { collectionPath } from "./kinds.ts";
import { type KubeApi, KubeApiError, statusError } from "./transport.ts";

export interface ReflectorOptions {
  /** Objects per list page; 500 as client-go's. */
  readonly pageSize: number;
  /** The server ends each watch after this long (timeoutSeconds); then it is reopened. */
  readonly watchTimeoutSeconds: number;
  readonly retryMs: { readonly first: number; readonly max: number };
  /** What of each object the consumer keeps (`whole`, or another node's pod as its view). */
  readonly project: Projection;
}

export interface ReflectorListener {
  /** Changes in order; a relist's difference arrives as one call. */
  onEvents(events: readonly ResourceEvent[]): void;
  /** Something went wrong; the reflector retries by itself, the last state stays. */
  onError(error: SourceError): void;
}

/** How a watch stream ended; `ended` in `follow` decides what each one leads to. */
type WatchEnd =
  | { readonly kind: "closed"; readonly received: number; readonly ms: number }
  | { readonly kind: "gone" }
  | { readonly kind: "failed"; readonly error: unknown };

/** A watch the server closes sooner than this with nothing in it is reopened after backoff. */
const SHORT_WATCH_MS = 1_000;

function isGone(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 410;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Reflector {
  readonly info: KindInfo;
  readonly #api: KubeApi;
  readonly #opts: ReflectorOptions;
  readonly #path: string;
  /** What the consumer has of this kind; undefined until a list succeeded. */
  #state: Map<string, Resource> | undefined;
  #resourceVersion = "";

  constructor(info: KindInfo, api: KubeApi, opts: ReflectorOptions) {
    this.info = info;
    this.#api = api;
    this.#opts = opts;
    this.#path = collectionPath(info);
  }

  get listed(): boolean {
    return this.#state !== undefined;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Every object of the kind as served now; a continue token that expired restarts the list. */
  async list(): Promise<{ objects: Map<string, Resource>; resourceVersion: string }> {
    for (;;) {
      try {
        return await this.#listOnce();
      } catch (e) {
        if (!isGone(e)) throw e;
      }
    }
  }

  /** Lists and takes the result as the consumer's state (a full sync). */
  async load(): Promise<Resource[]> {
    const { objects, resourceVersion } = await this.list();
    this.#state = objects;
    this.#resourceVersion = resourceVersion;
    return [...objects.values()];
  }

  async #listOnce(): Promise<{ objects: Map<string, Resource>; resourceVersion: string }> {
    const objects = new Map<string, Resource>();
    let token: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.#api.list(this.#path, {
        limit: this.#opts.pageSize,
        ...(token ? { continue: token } : {}),
      });
      for (const item of page.items) {
        const r = this.#decode(item);
        objects.set(resourceKey(r), this.#opts.project(r));
      }
      // Every page is read at the first page's resourceVersion; the list's is the last page's.
      resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token);
    return { objects, resourceVersion };
  }

  /** List items of built-in kinds come without apiVersion and kind; the model needs both. */
  #decode(item: unknown): Resource {
    const obj = {
      ...(item as Record<string, unknown>),
      apiVersion: this.info.apiVersion,
      kind: this.info.kind,
    };
    const parsed = parseResource(obj);
    if (parsed.ok) return parsed.value;
    const meta = ((item as Record<string, unknown>).metadata ?? {}) as {
      name?: unknown;
      namespace?: unknown;
    };
    const name = `${this.info.kind} ${typeof meta.namespace === "string" ? `${meta.namespace}/` : ""}${String(meta.name)}`;
    throw new SourceError(
      `${name} from the Kubernetes API is not valid`,
      parsed.issues.map((i) => `${name}: ${i.path}: ${i.message}`),
    );
  }

  /**
   * Follows the kind from the loaded state until stopped. Every way a watch ends (the server
   * closed it, an ERROR event, a failed or cut response, an undecodable line does not end it)
   * goes through `ended`, the one place that decides what comes next: 410 relists now; a close
   * by the server reopens now from the last resourceVersion, unless the stream ended at once
   * with nothing in it (a proxy or a restarting server closing every watch), which reopens
   * after backoff instead of in a hot loop; a failure is reported and reopens after backoff.
   * Backoff doubles from `retryMs.first` to `retryMs.max` and starts over once an event arrives.
   */
  follow(listener: ReflectorListener): { stop(): void } {
    let stopped = false;
    let current: { stop(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const backoff = new Backoff(this.#opts.retryMs);

    const report = (what: string, e: unknown): void => {
      listener.onError(
        e instanceof SourceError
          ? e
          : new SourceError(`${this.info.kind} ${what} failed: ${message(e)}`),
      );
    };
    const later = (step: () => void): void => {
      timer = setTimeout(step, backoff.next());
    };
    const ended = (end: WatchEnd): void => {
      current?.stop();
      current = undefined;
      if (stopped) return;
      if (end.kind === "gone") {
        void relist();
      } else if (end.kind === "failed") {
        report("watch", end.error);
        later(watch);
      } else if (end.received > 0 || end.ms >= SHORT_WATCH_MS) {
        watch();
      } else {
        report(
          "watch",
          new Error(`the server ended the watch after ${end.ms} ms with nothing in it`),
        );
        later(watch);
      }
    };
    const relist = async (): Promise<void> => {
      let next: Awaited<ReturnType<Reflector["list"]>>;
      try {
        next = await this.list();
      } catch (e) {
        if (stopped) return;
        report("list", e);
        later(() => void relist());
        return;
      }
      if (stopped) return;
      const events = diffResources(this.#state ?? new Map(), next.objects, 0);
      this.#state = next.objects;
      this.#resourceVersion = next.resourceVersion;
      if (events.length > 0) listener.onEvents(events);
      watch();
    };
    const watch = (): void => {
      if (stopped) return;
      const state = this.#state;
      if (state === undefined) {
        void relist();
        return;
      }
      const opened = Date.now();
      let received = 0;
      let done = false;
      const end = (e: WatchEnd): void => {
        if (done) return;
        done = true;
        ended(e);
      };
      current = this.#api.watch(
        this.#path,
        { resourceVersion: this.#resourceVersion, timeoutSeconds: this.#opts.watchTimeoutSeconds },
        {
          onEvent: (type, object) => {
            if (stopped || done) return;
            if (type === "ERROR") {
              const err = statusError(object, 500);
              end(isGone(err) ? { kind: "gone" } : { kind: "failed", error: err });
              return;
            }
            received++;
            backoff.reset();
            const rv = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata
              ?.resourceVersion;
            if (type !== "BOOKMARK") this.#apply(type, object, state, listener, report);
            if (typeof rv === "string") this.#resourceVersion = rv;
          },
          onDone: (error) => {
            if (stopped) return;
            if (error === undefined) end({ kind: "closed", received, ms: Date.now() - opened });
            else end(isGone(error) ? { kind: "gone" } : { kind: "failed", error });
          },
        },
      );
    };

    watch();
    return {
      stop: () => {
        stopped = true;
        current?.stop();
        clearTimeout(timer);
      },
    };
  }

  /** One ADDED, MODIFIED or DELETED event into the state and on to the listener. */
  #apply(
    type: string,
    object: unknown,
    state: Map<string, Resource>,
    listener: ReflectorListener,
    report: (what: string, e: unknown) => void,
  ): void {
    let r: Resource;
    try {
      r = this.#decode(object);
    } catch (e) {
      // The object's last good state stays in force; the stream goes on past it.
      report("watch", e);
      return;
    }
    const key = resourceKey(r);
    if (type === "DELETED") {
      state.delete(key);
      listener.onEvents([{ type: "delete", key }]);
    } else {
      const resource = projectUpdate(this.#opts.project, state.get(key), r);
      if (resource === undefined) return;
      state.set(key, resource);
      listener.onEvents([{ type: "upsert", resource }]);
    }
  }
}
