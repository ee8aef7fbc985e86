// One kind's list and watch, as client-go's reflector does it: a list read in pages
// (limit/continue) gives the objects and the resourceVersion to watch from; the watch
// (allowWatchBookmarks) moves that resourceVersion with every event and bookmark, and a watch
// the server closes is reopened from it, so nothing is missed or seen twice. A watch whose
// resourceVersion is too old (410 Gone, as an ERROR event or as the response) relists and
// reports only the difference from what it had, so its consumer's state never has a gap.
import {
  type KindInfo,
  parseResource,
  type Resource,
  type ResourceEvent,
  resourceKey,
} from "../../model/index.ts";
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
}

export interface ReflectorListener {
  /** Changes in order; a relist's difference arrives as one call. */
  onEvents(events: readonly ResourceEvent[]): void;
  /** Something went wrong; the reflector retries by itself, the last state stays. */
  onError(error: SourceError): void;
}

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
        objects.set(resourceKey(r), r);
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

  /** Follows the kind from the loaded state until stopped. */
  follow(listener: ReflectorListener): { stop(): void } {
    let stopped = false;
    let current: { stop(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let delay = this.#opts.retryMs.first;

    const later = (step: () => void): void => {
      timer = setTimeout(step, delay);
      delay = Math.min(delay * 2, this.#opts.retryMs.max);
    };
    const failed = (what: string, e: unknown): void => {
      listener.onError(
        e instanceof SourceError
          ? e
          : new SourceError(`${this.info.kind} ${what} failed: ${message(e)}`),
      );
    };
    const relist = async (): Promise<void> => {
      let next: Awaited<ReturnType<Reflector["list"]>>;
      try {
        next = await this.list();
      } catch (e) {
        if (stopped) return;
        failed("list", e);
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
      let ended = false;
      const end = (then: () => void): void => {
        if (ended) return;
        ended = true;
        current?.stop();
        current = undefined;
        then();
      };
      current = this.#api.watch(
        this.#path,
        { resourceVersion: this.#resourceVersion, timeoutSeconds: this.#opts.watchTimeoutSeconds },
        {
          onEvent: (type, object) => {
            if (stopped || ended) return;
            delay = this.#opts.retryMs.first;
            if (type === "ERROR") {
              const err = statusError(object, 500);
              end(() => (isGone(err) ? void relist() : (failed("watch", err), later(watch))));
              return;
            }
            const rv = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata
              ?.resourceVersion;
            if (type === "BOOKMARK") {
              if (typeof rv === "string") this.#resourceVersion = rv;
              return;
            }
            let r: Resource;
            try {
              r = this.#decode(object);
            } catch (e) {
              // The object's last good state stays in force; the stream goes on past it.
              if (typeof rv === "string") this.#resourceVersion = rv;
              failed("watch", e);
              return;
            }
            const key = resourceKey(r);
            if (type === "DELETED") {
              state.delete(key);
              listener.onEvents([{ type: "delete", key }]);
            } else {
              state.set(key, r);
              listener.onEvents([{ type: "upsert", resource: r }]);
            }
            if (typeof rv === "string") this.#resourceVersion = rv;
          },
          onDone: (error) => {
            if (stopped || ended) return;
            if (error === undefined) end(watch);
            else if (isGone(error)) end(() => void relist());
            else end(() => (failed("watch", error), later(watch)));
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
}
