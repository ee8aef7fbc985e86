// What an agent follows over one connection: `GET /apis/microseg.io/v1/snapshot` (every object
// of every kind at one revision, a List) and `GET /apis/microseg.io/v1/watch?resourceVersion=N`
// (every kind's changes after N as newline-delimited events, BOOKMARKs with
// allowWatchBookmarks, an ERROR 410 Status when N is compacted). Kubernetes has no such paths;
// per-kind watches would need one connection per kind and could not share a revision.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DatastoreError } from "../datastore/index.ts";
import { MICROSEG_V1 } from "../model/index.ts";
import type { ServerContext } from "./context.ts";
import { fromStoreError } from "./errors.ts";
import { openWatchStream, parseRevision, sharedEventLine } from "./watch.ts";

export const SNAPSHOT_PATH = `/apis/${MICROSEG_V1}/snapshot`;
export const WATCH_ALL_PATH = `/apis/${MICROSEG_V1}/watch`;

const BOOKMARK_MS = 10_000;

type Query = Record<string, string | undefined>;

export function registerStoreWideRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(SNAPSHOT_PATH, async (req) => {
    req.metricLabels = { verb: "snapshot", resource: "" };
    const snap = await ctx.store.snapshot();
    return {
      apiVersion: "v1",
      kind: "List",
      metadata: { resourceVersion: String(snap.revision) },
      items: snap.items,
    };
  });

  app.get(WATCH_ALL_PATH, async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    req.metricLabels = { verb: "watch", resource: "" };
    const fromRevision = parseRevision(req.query.resourceVersion) ?? (await ctx.store.revision());
    const bookmarks =
      req.query.allowWatchBookmarks === "true" || req.query.allowWatchBookmarks === "1";
    const { write, writeLine, end, attach } = openWatchStream(ctx, reply);
    const watch = ctx.store.watch(
      { fromRevision, ...(bookmarks ? { bookmarkMs: BOOKMARK_MS } : {}) },
      {
        onEvent(event) {
          if (event.type === "BOOKMARK") {
            const metadata = { resourceVersion: String(event.revision) };
            if (bookmarks) write("BOOKMARK", { apiVersion: "v1", kind: "List", metadata });
            return;
          }
          // A DELETED object carries the deleting revision, as the per-kind watch sends it.
          const line = sharedEventLine(event.object, "all", event.type, () => ({
            ...event.object,
            metadata: { ...event.object.metadata, resourceVersion: String(event.revision) },
          }));
          writeLine(event.type, line);
        },
        onError(error: DatastoreError) {
          write("ERROR", fromStoreError(error).toStatus());
          end();
        },
      },
    );
    attach(watch);
  });
}
