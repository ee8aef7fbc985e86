// A watch over HTTP with the datastore's contract: events in revision order, none missed, none
// twice. The response is newline-delimited JSON (`{"type":"ADDED","object":{...}}`) as the
// Kubernetes API streams it; when the connection drops, the watch reconnects from the last
// revision it delivered (bookmarks included) with backoff. An ERROR event or a 410 ends it with
// ExpiredError; another refusal (4xx) ends it with that error.
import type {
  DatastoreError,
  KindRef,
  Watch,
  WatchEvent,
  WatchListener,
  WatchOptions,
} from "../datastore/index.ts";
import { decodeResource, invalidAnswer, isRecord, revisionOf } from "./decode.ts";
import { errorFromStatus, parseStatus } from "./errors.ts";
import { collectionPath, WATCH_ALL_PATH } from "./paths.ts";
import { followLines } from "./stream-lines.ts";
import type { Transport } from "./transport.ts";

const TYPES = new Set(["ADDED", "MODIFIED", "DELETED"]);

/** One line of the stream as the event it carries; ERROR lines come back as the error. */
export function decodeWatchLine(
  line: string,
  kind: KindRef | undefined,
  requested: number,
): WatchEvent | DatastoreError {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return invalidAnswer("a watch line that is not JSON", line.slice(0, 100));
  }
  if (!isRecord(value) || typeof value.type !== "string") {
    return invalidAnswer("a watch line without a type", line.slice(0, 100));
  }
  const { type, object } = value;
  if (type === "ERROR") {
    const status = parseStatus(object);
    return errorFromStatus(status?.code ?? 500, status, line, requested);
  }
  if (type === "BOOKMARK") return { type, revision: revisionOf(object, "a bookmark") };
  if (!TYPES.has(type)) return invalidAnswer("an unknown watch event type", type);
  const resource = decodeResource(object, kind);
  return {
    type: type as "ADDED" | "MODIFIED" | "DELETED",
    object: resource,
    revision: revisionOf(resource, `a ${type} event`),
  };
}

/**
 * The store's watch options, plus a label selector the server filters by (kubectl's `-w -l`).
 * With a kind: that kind's collection, as Kubernetes watches; without: every kind over one
 * connection (namespace and selector then do not apply).
 */
export type ApiWatchOptions = WatchOptions & {
  readonly labelSelector?: string;
  /** All-kinds watch only: other nodes' pods as this node's peer views (store-wide.ts). */
  readonly peersOf?: string;
};

export function startWatch(
  transport: Transport,
  opts: ApiWatchOptions,
  listener: WatchListener,
): Watch {
  let revision = opts.fromRevision;
  const deliver = (line: string) => {
    if (line.trim() === "") return;
    let decoded: WatchEvent | DatastoreError;
    try {
      decoded = decodeWatchLine(line, opts.kind, revision);
    } catch (error) {
      decoded = error as DatastoreError;
    }
    if (decoded instanceof Error) return stream.fail(decoded);
    // After a reconnect the server starts after `revision`; anything older is a repeat.
    if (decoded.revision < revision) return;
    revision = decoded.revision;
    stream.resetBackoff();
    listener.onEvent(decoded);
  };
  const path = opts.kind ? collectionPath(opts.kind, opts.namespace) : WATCH_ALL_PATH;
  // Each reconnection resumes from the last revision delivered (bookmarks included).
  const stream = followLines({
    open: () =>
      transport.stream({
        method: "GET",
        path,
        query: {
          watch: "1",
          resourceVersion: String(revision),
          allowWatchBookmarks: "true",
          labelSelector: opts.labelSelector,
          peersOf: opts.peersOf,
        },
      }),
    onLine: deliver,
    onError: (error) => listener.onError(error),
  });
  return { stop: () => stream.stop() };
}
