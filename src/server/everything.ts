// Every kind at once, for agents: `GET /apis/microseg.io/v1/snapshot` lists every object at one
// revision, and `GET /apis/microseg.io/v1/watch?watch=1&resourceVersion=N` streams every change
// after N (all kinds, optionally one namespace) as newline-delimited watch events. One
// connection per agent carries everything, as Felix's one syncer connection to Typha does,
// rather than a watch per kind.
import type { FastifyInstance } from "fastify";
import type { DatastoreError, StoredResource, Watch } from "../datastore/index.ts";
import { MICROSEG_V1 } from "../model/index.ts";
import type { ServerContext } from "./context.ts";
import { badRequest, fromStoreError } from "./errors.ts";
import { parseRevision } from "./watch.ts";

export const SNAPSHOT_PATH = `/apis/${MICROSEG_V1}/snapshot`;
export const WATCH_ALL_PATH = `/apis/${MICROSEG_V1}/watch`;

const BOOKMARK_MS = 10_000;
/** A watcher that reads slower than changes come is cut off past this backlog; it resumes. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

const revisionMeta = (revision: number) => ({ resourceVersion: String(revision) });

export function registerEverythingRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(SNAPSHOT_PATH, async (req) => {
    req.metricLabels = { verb: "list", resource: "*" };
    const { items, revision } = await ctx.store.snapshot();
    return { apiVersion: MICROSEG_V1, kind: "List", metadata: revisionMeta(revision), items };
  });

  app.get(WATCH_ALL_PATH, async (req, reply) => {
    req.metricLabels = { verb: "watch", resource: "*" };
    const q = req.query as Record<string, string | undefined>;
    const from = parseRevision(q.resourceVersion);
    if (from === undefined)
      throw badRequest("resourceVersion", "required: the revision to follow from");
    const namespace = q.namespace || undefined;
    const bookmarks = q.allowWatchBookmarks === "true" || q.allowWatchBookmarks === "1";
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
    const write = (type: string, object: unknown) => {
      if (closed) return;
      ctx.metrics.watchEvents.inc({ type });
      res.write(`${JSON.stringify({ type, object })}\n`);
      if (res.writableLength > MAX_BACKLOG_BYTES) end();
    };
    function end(): void {
      if (closed) return;
      closed = true;
      watch?.stop();
      ctx.metrics.watchers.dec();
      ctx.watches.delete(end);
      res.end();
    }
    ctx.metrics.watchers.inc();
    ctx.watches.add(end);
    res.on("close", end);

    watch = ctx.store.watch(
      {
        fromRevision: from,
        ...(namespace !== undefined ? { namespace } : {}),
        ...(bookmarks ? { bookmarkMs: BOOKMARK_MS } : {}),
      },
      {
        onEvent(event) {
          if (event.type === "BOOKMARK") {
            if (bookmarks)
              write("BOOKMARK", {
                kind: "List",
                apiVersion: MICROSEG_V1,
                metadata: revisionMeta(event.revision),
              });
            return;
          }
          // A deleted object carries the deleting revision, so a resume starts after it.
          const object: StoredResource =
            event.type === "DELETED"
              ? ({
                  ...event.object,
                  metadata: { ...event.object.metadata, ...revisionMeta(event.revision) },
                } as StoredResource)
              : event.object;
          write(event.type, object);
        },
        onError(error: DatastoreError) {
          write("ERROR", fromStoreError(error).toStatus());
          end();
        },
      },
    );
    if (closed) watch.stop();
  });
}
