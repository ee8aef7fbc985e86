// Watch streams as the Kubernetes API sends them: one chunked response of newline-delimited
// `{"type": ..., "object": ...}` events. From resourceVersion N: every change after N. Without
// one (or "0"): the objects as they are now, as ADDED, then every later change. A compacted
// N: one ERROR event carrying a 410 Expired Status, then the end of the stream.
import type { FastifyReply, FastifyRequest } from "fastify";
import type {
  DatastoreError,
  ObjectFilter,
  StoredResource,
  Watch,
  WatchEvent,
} from "../datastore/index.ts";
import { resourceKey } from "../model/index.ts";
import type { ServerContext } from "./context.ts";
import { ApiError, badRequest, fromStoreError } from "./errors.ts";
import { servedAs } from "./objects.ts";
import type { ResourceTarget } from "./paths.ts";
import { selectorsFrom } from "./selectors.ts";
import { negotiate, type TableVersion, toTable } from "./tables.ts";

export type WatchQuery = Record<string, string | undefined>;

const flag = (v: string | undefined) => v === "true" || v === "1";

export function isWatch(q: WatchQuery): boolean {
  return flag(q.watch);
}

/** resourceVersion of a list or watch: absent, or a store revision. */
export function parseRevision(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,15}$/.test(v)) throw badRequest("resourceVersion", `"${v}" is not a revision`);
  return Number(v);
}

function parseTimeout(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,9}$/.test(v)) throw badRequest("timeoutSeconds", `"${v}" is not a whole number`);
  return Number(v) > 0 ? Number(v) * 1000 : undefined;
}

/** A watcher that reads slower than changes come is cut off past this backlog; it resumes. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
const BOOKMARK_MS = 10_000;
const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

type EventType = "ADDED" | "MODIFIED" | "DELETED";

/**
 * Selector-filtered watches report objects entering and leaving the selection as ADDED and
 * DELETED, as Kubernetes does. A stream that began with the current list knows every object's
 * standing. A stream resumed from a revision knows only the objects it has seen: an unseen
 * object that now matches is MODIFIED, one that no longer does is DELETED (a client without it
 * ignores that; informers treat both as upserts and deletes anyway).
 */
class Selection {
  readonly #matching = new Map<string, boolean>();
  #complete = false;
  constructor(readonly filter: ObjectFilter | undefined) {}

  /** The stream starts with these objects: all that match, so others do not. */
  startWith(items: readonly StoredResource[]): void {
    this.#complete = true;
    for (const r of items) this.#matching.set(resourceKey(r), true);
  }

  translate(type: EventType, object: StoredResource): EventType | undefined {
    if (!this.filter) return type;
    const key = resourceKey(object);
    const before = this.#matching.get(key) ?? (this.#complete ? false : undefined);
    const now = this.filter(object);
    if (type === "DELETED") {
      this.#matching.delete(key);
      return now || before ? "DELETED" : undefined;
    }
    this.#matching.set(key, now);
    const wasOut = before === false || (before === undefined && type === "ADDED");
    if (now) return wasOut ? "ADDED" : type;
    return wasOut ? undefined : "DELETED";
  }
}

/**
 * The store hands every watcher of a change the same object, so its line is serialized once
 * per way of serving it (event type, group version) and reused by the other watchers.
 */
const eventLines = new WeakMap<object, Map<string, string>>();

export function sharedEventLine(
  shared: object,
  variant: string,
  type: string,
  object: () => unknown,
): string {
  let lines = eventLines.get(shared);
  if (!lines) {
    lines = new Map();
    eventLines.set(shared, lines);
  }
  const key = `${type} ${variant}`;
  let line = lines.get(key);
  if (line === undefined) {
    line = eventLine(type, object());
    lines.set(key, line);
  }
  return line;
}

const eventLine = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

/** One watch response: chunked lines, counted, cut off past the backlog, ended once. */
export interface WatchStream {
  write(type: string, object: unknown): void;
  /** An event already serialized (`sharedEventLine`). */
  writeLine(type: string, line: string): void;
  end(): void;
  readonly closed: boolean;
  /** The store watch feeding it, stopped when the stream ends. */
  attach(watch: Watch): void;
}

export function openWatchStream(ctx: ServerContext, reply: FastifyReply): WatchStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "application/json",
    "cache-control": "no-cache, private",
    "transfer-encoding": "chunked",
  });
  res.flushHeaders();
  let closed = false;
  let watch: Watch | undefined;
  const end = () => {
    if (closed) return;
    closed = true;
    watch?.stop();
    ctx.metrics.watchers.dec();
    ctx.watches.delete(end);
    res.end();
  };
  ctx.metrics.watchers.inc();
  ctx.watches.add(end);
  res.on("close", end);
  const writeLine = (type: string, line: string) => {
    if (closed) return;
    ctx.metrics.watchEvents.inc({ type });
    ctx.metrics.watchBytes.inc(Buffer.byteLength(line));
    res.write(line);
    if (res.writableLength > MAX_BACKLOG_BYTES) end();
  };
  return {
    write: (type, object) => writeLine(type, eventLine(type, object)),
    writeLine,
    end,
    get closed() {
      return closed;
    },
    attach(w) {
      watch = w;
      // The store may end the watch at once (an expired revision): then nothing is left running.
      if (closed) w.stop();
    },
  };
}

export async function serveWatch(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  target: ResourceTarget,
  q: WatchQuery,
): Promise<void> {
  const from = parseRevision(q.resourceVersion);
  const timeoutMs = parseTimeout(q.timeoutSeconds);
  const selectors = selectorsFrom(q);
  const representation = negotiate(req.headers.accept);
  if (representation === undefined) {
    throw new ApiError("NotAcceptable", "only application/json (and as=Table) is served");
  }
  const sendInitial = from === undefined || from === 0 || flag(q.sendInitialEvents);
  const bookmarks = flag(q.allowWatchBookmarks);
  const { info, gv } = target;
  const kind = { apiVersion: info.apiVersion, kind: info.kind };
  const namespace = target.namespace;

  let initial: readonly StoredResource[] = [];
  let start = from ?? 0;
  if (sendInitial) {
    const list = await ctx.store.list({
      kind,
      ...(namespace !== undefined ? { namespace } : {}),
      ...selectors.store,
    });
    initial = list.items;
    start = list.revision;
  }

  const selection = new Selection(selectors.filter);
  if (sendInitial) selection.startWith(initial);
  const stream = openWatchStream(ctx, reply);
  const write = stream.write;
  let timer: NodeJS.Timeout | undefined;

  const objectFor = (object: unknown, table: TableVersion | "json") =>
    table === "json"
      ? object
      : toTable(info, [object as StoredResource], { version: table, now: Date.now() });
  const bookmark = (revision: number, annotations?: Record<string, string>) =>
    write("BOOKMARK", {
      kind: info.kind,
      apiVersion: gv.groupVersion,
      metadata: { resourceVersion: String(revision), ...(annotations ? { annotations } : {}) },
    });
  const served = (type: EventType, object: StoredResource, revision: number) => {
    const withRevision =
      type === "DELETED"
        ? ({
            ...object,
            metadata: { ...object.metadata, resourceVersion: String(revision) },
          } as StoredResource)
        : object;
    // As get and list show it: staged policies with their would-deny tally as of sending.
    return servedAs(gv, ctx.shown(withRevision));
  };
  const emit = (type: EventType, object: StoredResource, revision: number) => {
    const translated = selection.translate(type, object);
    if (!translated) return;
    if (representation === "json") {
      const line = sharedEventLine(object, gv.groupVersion, translated, () =>
        served(type, object, revision),
      );
      stream.writeLine(translated, line);
    } else write(translated, objectFor(served(type, object, revision), representation));
  };
  const end = () => {
    if (timer) clearTimeout(timer);
    stream.end();
  };

  for (const r of initial) write("ADDED", objectFor(servedAs(gv, ctx.shown(r)), representation));
  if (flag(q.sendInitialEvents) && bookmarks) {
    bookmark(start, { [INITIAL_EVENTS_END]: "true" });
  }

  const watch = ctx.store.watch(
    {
      kind,
      ...(namespace !== undefined ? { namespace } : {}),
      fromRevision: start,
      ...(bookmarks ? { bookmarkMs: BOOKMARK_MS } : {}),
    },
    {
      onEvent(event: WatchEvent) {
        if (event.type === "BOOKMARK") {
          if (bookmarks) bookmark(event.revision);
          return;
        }
        emit(event.type, event.object, event.revision);
      },
      onError(error: DatastoreError) {
        write("ERROR", fromStoreError(error).toStatus());
        end();
      },
    },
  );
  stream.attach(watch);
  if (!stream.closed && timeoutMs) timer = setTimeout(end, timeoutMs);
}
