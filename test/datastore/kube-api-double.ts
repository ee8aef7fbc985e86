// A double of the Kubernetes API server's list and watch, because no API server can run here
// (it needs etcd, certificates and a control plane this machine cannot host). It follows the
// API concepts document (kubernetes.io/docs/reference/using-api/api-concepts):
// - one resourceVersion counter for every kind (as etcd's revision); each write bumps it;
// - lists: `limit`/`continue` pages, every page read at the first page's resourceVersion, a
//   continue token from before the compacted revision is 410 Gone (reason Expired); items of
//   built-in kinds (core, networking.k8s.io) carry no apiVersion/kind, CRD items do;
// - watches (`watch=true`): from `resourceVersion` N the events after N, then live; without
//   one (or "0"), synthetic ADDED events of the current state first; N older than the
//   compacted revision gives 200 and an ERROR event carrying a 410 Status, then the end;
//   `allowWatchBookmarks=true` brings BOOKMARK events (an object of the kind with only
//   metadata.resourceVersion) every `bookmarkMs`; `timeoutSeconds` ends the stream;
// - faults a test asks for: every open watch ended (`closeWatches`) or cut mid-stream
//   (`cutWatches`), the next watches answered by an HTTP error or ended at once with nothing in
//   them (`failNextWatches`);
// - failures as `Status` objects; HTTPS and a bearer token, as every API server requires.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { KINDS, type KindInfo } from "../../src/model/index.ts";
import { statusBody } from "../kube-status.ts";

type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

interface LogEntry {
  readonly rv: number;
  readonly path: string;
  readonly key: string;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: Obj;
}

interface OpenWatch {
  readonly path: string;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  timers: NodeJS.Timeout[];
}

/** What a watch request is answered with instead of its stream: an HTTP status, or an empty 200. */
export type WatchFault = number | "empty";

/** Kinds served as CRDs upstream: their list items keep apiVersion and kind. */
const BUILT_IN_GROUPS = new Set(["", "networking.k8s.io"]);

function pathOf(info: KindInfo): string {
  return info.group === "" ? `/api/v1/${info.plural}` : `/apis/${info.apiVersion}/${info.plural}`;
}

const KIND_BY_PATH = new Map(KINDS.map((k) => [pathOf(k), k]));

export interface DoubleOptions {
  readonly bookmarkMs?: number;
  readonly token: string;
  /** PEM key and certificate the server presents. */
  readonly tls: { readonly key: string; readonly cert: string };
}

export class KubeApiDouble {
  readonly #log: LogEntry[] = [];
  /** Each kind's objects now, by `namespace/name`. */
  readonly #now = new Map<string, Map<string, Obj>>();
  readonly #watches = new Set<OpenWatch>();
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  readonly #bookmarkMs: number;
  readonly #token: string;
  #rv = 100;
  #compacted = 0;
  #expireNextContinue = false;
  /** Faults still to serve, by collection path. */
  readonly #watchFaults = new Map<string, WatchFault[]>();
  /** Every request, `PATH?QUERY`, in arrival order. */
  readonly requests: string[] = [];
  /** How many 410s were served (watch ERROR events and list responses). */
  gone = 0;
  /** The resourceVersion of each bookmark sent, by collection path. */
  readonly bookmarksSent = new Map<string, string[]>();

  constructor(opts: DoubleOptions) {
    this.#bookmarkMs = opts.bookmarkMs ?? 1_000;
    this.#token = opts.token;
    this.#server = createServer(opts.tls, (req, res) => this.#handle(req, res));
    // Every socket, also one still in its TLS handshake, so close() ends them all at once
    // rather than after the server's 60 s headers timeout.
    this.#server.on("connection", (s: Socket) => {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.closeWatches();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Creates or replaces an object (as a write through the API would), at a new resourceVersion. */
  put(input: Readonly<Record<string, unknown>>): void {
    const obj = structuredClone(input) as Obj;
    const info = this.#kind(obj);
    const path = pathOf(info);
    const key = `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
    const exists = this.#now.get(path)?.has(key) ?? false;
    const rv = ++this.#rv;
    obj.metadata = {
      ...obj.metadata,
      resourceVersion: String(rv),
      uid: obj.metadata.uid ?? `uid-${key}`,
    };
    this.#append({ rv, path, key, type: exists ? "MODIFIED" : "ADDED", object: obj });
  }

  remove(apiVersion: string, kind: string, name: string, namespace?: string): void {
    const info = this.#kind({ apiVersion, kind, metadata: { name } });
    const path = pathOf(info);
    const key = `${namespace ?? ""}/${name}`;
    const last = this.#now.get(path)?.get(key);
    if (!last) throw new Error(`${kind} ${key} does not exist`);
    const rv = ++this.#rv;
    const object = { ...last, metadata: { ...last.metadata, resourceVersion: String(rv) } };
    this.#append({ rv, path, key, type: "DELETED", object });
  }

  /** The objects of every kind now, keyed `path key`. */
  objects(): Map<string, Obj> {
    const out = new Map<string, Obj>();
    for (const [path, objs] of this.#now) {
      for (const [key, obj] of objs) out.set(`${path} ${key}`, obj);
    }
    return out;
  }

  /** Forgets history up to now: watches and continue tokens from before get 410. */
  compact(): void {
    this.#compacted = this.#rv;
  }

  /** The next continue token presented gets 410, as when it expired between two pages. */
  expireNextContinue(): void {
    this.#expireNextContinue = true;
  }

  /** Ends every open watch stream (the server's watch timeout, an API server restart). */
  closeWatches(): void {
    for (const w of this.#watches) this.#endWatch(w);
  }

  /** Cuts every open watch's connection mid-stream, as a crashed server or a reset does. */
  cutWatches(): void {
    for (const w of this.#watches) {
      this.#watches.delete(w);
      for (const t of w.timers) clearInterval(t);
      w.res.socket?.destroy();
    }
  }

  /**
   * The next `count` watch requests on `path` (`/api/v1/pods`) get `fault`: an HTTP status
   * with a Status body, or a 200 stream ended at once with nothing in it (`"empty"`), as a
   * proxy closing every watch would.
   */
  failNextWatches(path: string, count: number, fault: WatchFault): void {
    const faults = this.#watchFaults.get(path) ?? [];
    for (let i = 0; i < count; i++) faults.push(fault);
    this.#watchFaults.set(path, faults);
  }

  /** How many watch requests have been answered (any outcome), per collection path. */
  watchRequests(path: string): number {
    return this.requests.filter((r) => r.startsWith(`${path}?`) && /[?&]watch=/.test(r)).length;
  }

  #kind(obj: { apiVersion: string; kind: string; metadata: { name: string } }): KindInfo {
    const info = KINDS.find((k) => k.apiVersion === obj.apiVersion && k.kind === obj.kind);
    if (!info) throw new Error(`the double serves no ${obj.apiVersion} ${obj.kind}`);
    return info;
  }

  #append(entry: LogEntry): void {
    this.#log.push(entry);
    const now = this.#now.get(entry.path) ?? new Map<string, Obj>();
    if (entry.type === "DELETED") now.delete(entry.key);
    else now.set(entry.key, entry.object);
    this.#now.set(entry.path, now);
    for (const w of this.#watches)
      if (w.path === entry.path) this.#send(w, entry.type, entry.object);
  }

  /** A kind's objects as of resourceVersion `rv`, sorted by namespace/name. */
  #current(path: string, rv: number): Map<string, Obj> {
    const sorted = (m: Map<string, Obj>) =>
      new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (rv === this.#rv) return sorted(this.#now.get(path) ?? new Map());
    const state = new Map<string, Obj>();
    for (const e of this.#log) {
      if (e.rv > rv) break;
      if (e.path !== path) continue;
      if (e.type === "DELETED") state.delete(e.key);
      else state.set(e.key, e.object);
    }
    return sorted(state);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://double");
    this.requests.push(`${url.pathname}${url.search}`);
    const reply = (code: number, body: unknown): void => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.#token}`) {
      reply(401, statusBody(401, "Unauthorized", "Unauthorized"));
      return;
    }
    const info = KIND_BY_PATH.get(url.pathname);
    if (req.method !== "GET" || !info) {
      reply(404, statusBody(404, "NotFound", `the server could not find the requested resource`));
      return;
    }
    const q = url.searchParams;
    if (q.get("watch") === "true" || q.get("watch") === "1") this.#watch(info, q, res, reply);
    else this.#list(info, q, reply);
  }

  #list(info: KindInfo, q: URLSearchParams, reply: (code: number, body: unknown) => void): void {
    const path = pathOf(info);
    const limit = Number(q.get("limit") ?? "0");
    let rv = this.#rv;
    let after = "";
    const token = q.get("continue");
    if (token) {
      const parsed = JSON.parse(Buffer.from(token, "base64url").toString()) as {
        rv: number;
        after: string;
      };
      if (this.#expireNextContinue || parsed.rv < this.#compacted) {
        this.#expireNextContinue = false;
        this.gone++;
        reply(
          410,
          statusBody(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
          ),
        );
        return;
      }
      rv = parsed.rv;
      after = parsed.after;
    }
    const all = [...this.#current(path, rv)].filter(([key]) => key > after);
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = page.length < all.length;
    const builtIn = BUILT_IN_GROUPS.has(info.group);
    const items = page.map(([, o]) => {
      if (!builtIn) return o;
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    });
    const last = page.at(-1)?.[0] ?? "";
    reply(200, {
      apiVersion: info.apiVersion,
      kind: `${info.kind}List`,
      metadata: {
        resourceVersion: String(rv),
        ...(more
          ? { continue: Buffer.from(JSON.stringify({ rv, after: last })).toString("base64url") }
          : {}),
      },
      items,
    });
  }

  #watch(
    info: KindInfo,
    q: URLSearchParams,
    res: ServerResponse,
    reply: (code: number, body: unknown) => void,
  ): void {
    const path = pathOf(info);
    const from = q.get("resourceVersion") ?? "";
    if (from !== "" && !/^\d+$/.test(from)) {
      reply(400, statusBody(400, "BadRequest", `invalid resource version: ${from}`));
      return;
    }
    const fault = this.#watchFaults.get(path)?.shift();
    if (typeof fault === "number") {
      reply(fault, statusBody(fault, "InternalError", `the double fails this watch (${fault})`));
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    if (fault === "empty") {
      res.end();
      return;
    }
    const w: OpenWatch = {
      path,
      res,
      bookmarks: q.get("allowWatchBookmarks") === "true",
      timers: [],
    };
    if (from !== "" && from !== "0" && Number(from) < this.#compacted) {
      this.gone++;
      this.#send(
        w,
        "ERROR",
        statusBody(410, "Expired", `too old resource version: ${from} (${this.#compacted})`),
      );
      res.end();
      return;
    }
    if (from === "" || from === "0") {
      for (const obj of this.#current(path, this.#rv).values()) this.#send(w, "ADDED", obj);
    } else {
      for (const e of this.#log)
        if (e.path === path && e.rv > Number(from)) this.#send(w, e.type, e.object);
    }
    this.#watches.add(w);
    res.on("close", () => this.#endWatch(w));
    const timeout = Number(q.get("timeoutSeconds") ?? "0");
    if (timeout > 0) w.timers.push(setTimeout(() => this.#endWatch(w), timeout * 1000));
    if (w.bookmarks) {
      w.timers.push(
        setInterval(() => {
          const rv = String(this.#rv);
          this.#send(w, "BOOKMARK", {
            apiVersion: info.apiVersion,
            kind: info.kind,
            metadata: { resourceVersion: rv },
          });
          const sent = this.bookmarksSent.get(path) ?? [];
          sent.push(rv);
          this.bookmarksSent.set(path, sent);
        }, this.#bookmarkMs),
      );
    }
  }

  #send(w: OpenWatch, type: string, object: unknown): void {
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  #endWatch(w: OpenWatch): void {
    if (!this.#watches.delete(w)) return;
    for (const t of w.timers) clearInterval(t);
    w.res.end();
  }
}
