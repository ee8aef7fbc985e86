// What the reflectors need of the Kubernetes API: a page of a list and a watch stream. The
// real one (KubeTransport) is the official client, @kubernetes/client-node: its KubeConfig
// (kubeconfig file, or in-cluster service account token and CA) authenticates every request,
// its Watch reads the watch streams. Lists are plain GETs carrying the KubeConfig's TLS and
// auth options, because the client's typed list calls deserialize into its model classes
// (timestamps become Dates, unknown kinds fail), while the model validates the JSON as served.
import { request as httpRequest, type RequestOptions } from "node:http";
import { Agent, type AgentOptions, request as httpsRequest } from "node:https";
import { KubeConfig, Watch } from "@kubernetes/client-node";

export interface KubeListPage {
  /** As served: list items of built-in kinds carry no apiVersion or kind. */
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** Set when more pages follow. */
  readonly continue?: string;
}

export type KubeWatchType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface KubeWatchHandlers {
  onEvent(type: string, object: unknown): void;
  /** The stream ended: undefined when the server closed it, the failure otherwise. */
  onDone(error: unknown): void;
}

export interface KubeApi {
  list(
    path: string,
    opts: { readonly limit: number; readonly continue?: string },
  ): Promise<KubeListPage>;
  watch(
    path: string,
    params: { readonly resourceVersion: string; readonly timeoutSeconds: number },
    handlers: KubeWatchHandlers,
  ): { stop(): void };
}

/** A failed request: HTTP status and, when the body was a Status, its reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

/** The error a `Status` object (an ERROR event's object, a failed response's body) stands for. */
export function statusError(body: unknown, fallbackStatus: number): KubeApiError {
  const s = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof s.code === "number" ? s.code : fallbackStatus;
  const reason = typeof s.reason === "string" ? s.reason : "";
  const message = typeof s.message === "string" ? s.message : `HTTP ${code}`;
  return new KubeApiError(code, reason, message);
}

export interface KubeConfigOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, ~/.kube/config, or the in-cluster account. */
  readonly kubeconfig?: string;
}

export function loadKubeConfig(opts: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error("the kubeconfig names no current cluster");
  return kc;
}

/** How long past its timeoutSeconds a watch may stay open before we give up on it. */
const WATCH_GRACE_S = 30;

export class KubeTransport implements KubeApi {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly #watcher: Watch;
  /** One keep-alive agent for the lists: a TLS handshake per page would dominate a relist. */
  #agent: Agent | undefined;

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig names no current cluster");
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    this.#watcher = new Watch(kc);
  }

  async list(
    path: string,
    opts: { readonly limit: number; readonly continue?: string },
  ): Promise<KubeListPage> {
    const url = new URL(this.#server.pathname.replace(/\/$/, "") + path, this.#server);
    url.searchParams.set("limit", String(opts.limit));
    if (opts.continue) url.searchParams.set("continue", opts.continue);
    const body = await this.#get(url);
    const list = body as {
      items?: unknown[];
      metadata?: { resourceVersion?: string; continue?: string };
    };
    return {
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion ?? "",
      ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}),
    };
  }

  /**
   * A watch stream through the client's Watch. The server ends it after `timeoutSeconds`; a
   * stream still open well past that (a peer gone without a FIN, a stalled proxy) is given up
   * by a deadline of our own, as client-go's request timeout does, and reported as a failure.
   */
  watch(
    path: string,
    params: { readonly resourceVersion: string; readonly timeoutSeconds: number },
    handlers: KubeWatchHandlers,
  ): { stop(): void } {
    let stopped = false;
    let controller: AbortController | undefined;
    const deadline = setTimeout(
      () => {
        done(new Error(`no end of the watch ${WATCH_GRACE_S} s past its timeoutSeconds`));
        controller?.abort();
      },
      (params.timeoutSeconds + WATCH_GRACE_S) * 1000,
    );
    deadline.unref();
    const done = (error: unknown): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(deadline);
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      handlers.onDone(
        typeof status === "number"
          ? new KubeApiError(status, "", String(error))
          : (error ?? undefined),
      );
    };
    this.#watcher
      .watch(
        path,
        { ...params, allowWatchBookmarks: true },
        (type, object) => {
          if (!stopped) handlers.onEvent(type, object);
        },
        done,
      )
      .then((c) => {
        controller = c;
        if (stopped) c.abort();
      }, done);
    return {
      stop: () => {
        stopped = true;
        clearTimeout(deadline);
        controller?.abort();
      },
    };
  }

  async #get(url: URL): Promise<unknown> {
    const opts: RequestOptions & { agent?: unknown } = {
      method: "GET",
      headers: { Accept: "application/json" },
    };
    // Every request takes the KubeConfig's options afresh: a projected token file rotates.
    await this.#kc.applyToHTTPSOptions(opts);
    const tls = url.protocol === "https:";
    if (tls) {
      const o = opts as AgentOptions;
      this.#agent ??= new Agent({
        keepAlive: true,
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.cert ? { cert: o.cert } : {}),
        ...(o.key ? { key: o.key } : {}),
        ...(o.servername ? { servername: o.servername } : {}),
        ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
      });
      opts.agent = this.#agent;
    } else {
      // The KubeConfig hands an https agent; a plain-HTTP server (kubectl proxy) takes none.
      delete opts.agent;
    }
    const send = tls ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, opts as RequestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            body = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300 && body !== undefined) resolve(body);
          else reject(statusError(body, status));
        });
      });
      req.on("error", reject);
      req.end();
    });
  }
}
