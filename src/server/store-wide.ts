// What an agent follows over one connection: `GET /apis/microseg.io/v1/snapshot` (every object
// of every kind at one revision, a List) and `GET /apis/microseg.io/v1/watch?resourceVersion=N`
// (every kind's changes after N as newline-delimited events, BOOKMARKs with
// allowWatchBookmarks, an ERROR 410 Status when N is compacted). Kubernetes has no such paths;
// per-kind watches would need one connection per kind and could not share a revision.
//
// `peersOf=NODE` on either serves the pods of every other node as their peer views
// (src/policy/peer-view.ts: what NODE's enforcement reads of them), the node's own pods and
// every other object whole. A view is the same for every node but the pod's own, so an event
// is still serialized at most twice (whole, view) whatever the number of watchers.
//
// An update of another node's pod that leaves its view as it was (peer-changes.ts) is not sent
// on a `peersOf` watch at all; a BOOKMARK follows within HELD_BOOKMARK_MS unless an event does,
// so the watcher still reaches the store's revision (it asked for bookmarks; the client does).
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DatastoreError } from "../datastore/index.ts";
import { MICROSEG_V1, type Resource, resourceKey } from "../model/index.ts";
import { peerView } from "../policy/index.ts";
import type { ServerContext } from "./context.ts";
import { badRequest, fromStoreError } from "./errors.ts";
import { PeerViewChanges } from "./peer-changes.ts";
import { openWatchStream, parseRevision, sharedEventLine } from "./watch.ts";

export const SNAPSHOT_PATH = `/apis/${MICROSEG_V1}/snapshot`;
export const WATCH_ALL_PATH = `/apis/${MICROSEG_V1}/watch`;

const BOOKMARK_MS = 10_000;
/** How soon a watcher hears the revision of updates held back from it (one bookmark for all). */
const HELD_BOOKMARK_MS = 100;

type Query = Record<string, string | undefined>;

/** The node whose peers the caller wants as views, if it asked. */
function peersOf(q: Query): string | undefined {
  const node = q.peersOf;
  if (node === undefined) return undefined;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(node))
    throw badRequest("peersOf", `"${node}" is not a node name`);
  return node;
}

/** Whether `r` goes to `node` as a peer view: a pod of another node. */
const isPeer = (r: Resource, node: string | undefined): boolean =>
  node !== undefined && peerView(r, node) !== r;

const bookmarkObject = (revision: number) => ({
  apiVersion: "v1",
  kind: "List",
  metadata: { resourceVersion: String(revision) },
});

/** A peer view that keeps the revision a watch resumes from. */
function viewAt(r: Resource, node: string, resourceVersion: string | undefined): object {
  const v = peerView(r, node);
  return { ...v, metadata: { ...v.metadata, resourceVersion } };
}

export function registerStoreWideRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // Started by the first peersOf watch: a server nobody watches that way judges nothing.
  const changes = new PeerViewChanges(ctx.store);
  app.addHook("onClose", async () => changes.stop());
  app.get(SNAPSHOT_PATH, async (req: FastifyRequest<{ Querystring: Query }>) => {
    req.metricLabels = { verb: "snapshot", resource: "" };
    const node = peersOf(req.query);
    const snap = await ctx.store.snapshot();
    return {
      apiVersion: "v1",
      kind: "List",
      metadata: { resourceVersion: String(snap.revision) },
      items:
        node === undefined
          ? snap.items
          : snap.items.map((r) =>
              isPeer(r, node) ? viewAt(r, node, r.metadata.resourceVersion) : r,
            ),
    };
  });

  app.get(WATCH_ALL_PATH, async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    req.metricLabels = { verb: "watch", resource: "" };
    const node = peersOf(req.query);
    const fromRevision = parseRevision(req.query.resourceVersion) ?? (await ctx.store.revision());
    const bookmarks =
      req.query.allowWatchBookmarks === "true" || req.query.allowWatchBookmarks === "1";
    // Before this watch registers with the store, so the follower judges each write first.
    if (node !== undefined) await changes.start();
    const { write, writeLine, end, attach } = openWatchStream(ctx, reply);
    let held: { revision: number; timer: NodeJS.Timeout } | undefined;
    const hold = (revision: number): void => {
      ctx.metrics.watchHeld.inc();
      if (!bookmarks) return;
      if (held) {
        held.revision = revision;
        return;
      }
      const h = {
        revision,
        timer: setTimeout(() => {
          held = undefined;
          write("BOOKMARK", bookmarkObject(h.revision));
        }, HELD_BOOKMARK_MS).unref(),
      };
      held = h;
    };
    const sent = (): void => {
      if (held) clearTimeout(held.timer);
      held = undefined;
    };
    const watch = ctx.store.watch(
      { fromRevision, ...(bookmarks ? { bookmarkMs: BOOKMARK_MS } : {}) },
      {
        onEvent(event) {
          if (event.type === "BOOKMARK") {
            sent();
            if (bookmarks) write("BOOKMARK", bookmarkObject(event.revision));
            return;
          }
          const peer = node !== undefined && isPeer(event.object, node);
          if (
            peer &&
            event.type === "MODIFIED" &&
            changes.unchanged(resourceKey(event.object), event.revision)
          ) {
            hold(event.revision);
            return;
          }
          sent();
          // A DELETED object carries the deleting revision, as the per-kind watch sends it.
          const revision = String(event.revision);
          const line =
            peer && node !== undefined
              ? sharedEventLine(event.object, "peer", event.type, () =>
                  viewAt(event.object, node, revision),
                )
              : sharedEventLine(event.object, "all", event.type, () => ({
                  ...event.object,
                  metadata: { ...event.object.metadata, resourceVersion: revision },
                }));
          writeLine(event.type, line);
        },
        onError(error: DatastoreError) {
          sent();
          write("ERROR", fromStoreError(error).toStatus());
          end();
        },
      },
    );
    attach(watch);
  });
}
