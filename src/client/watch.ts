// A watch over HTTP with the datastore's contract: events in revision order, none missed, none
// twice. The response is newline-delimited JSON (`{"type":"ADDED","object":{...}}`) as the
// Kubernetes API streams it; when the connection drops, the watch reconnects from the last
// revision it delivered (bookmarks included) with backoff. An ERROR event or a 410 ends it with
// ExpiredError; another refusal (4xx) ends it with that error.
import type { IncomingMessage } from "node:http";
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
import { readLines } from "./stream-lines.ts";
import type { Transport } from "./transport.ts";

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

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
export type ApiWatchOptions = WatchOptions & { readonly labelSelector?: string };

export function startWatch(
  transport: Transport,
  opts: ApiWatchOptions,
  listener: WatchListener,
): Watch {
  let revision = opts.fromRevision;
  let stopped = false;
  let backoff = FIRST_BACKOFF_MS;
  let current: IncomingMessage | undefined;
  let timer: NodeJS.Timeout | undefined;

  const fail = (error: DatastoreError) => {
    if (stopped) return;
    stopped = true;
    current?.destroy();
    listener.onError(error);
  };

  const retryLater = () => {
    if (stopped) return;
    timer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  const deliver = (line: string) => {
    if (stopped || line.trim() === "") return;
    let decoded: WatchEvent | DatastoreError;
    try {
      decoded = decodeWatchLine(line, opts.kind, revision);
    } catch (error) {
      decoded = error as DatastoreError;
    }
    if (decoded instanceof Error) return fail(decoded);
    // After a reconnect the server starts after `revision`; anything older is a repeat.
    if (decoded.revision < revision) return;
    revision = decoded.revision;
    backoff = FIRST_BACKOFF_MS;
    listener.onEvent(decoded);
  };

  function connect(): void {
    if (stopped) return;
    const path = opts.kind ? collectionPath(opts.kind, opts.namespace) : WATCH_ALL_PATH;
    transport
      .stream({
        method: "GET",
        path,
        query: {
          watch: "1",
          resourceVersion: String(revision),
          allowWatchBookmarks: "true",
          labelSelector: opts.labelSelector,
        },
      })
      .then((res) => {
        if (stopped) return void res.destroy();
        current = res;
        // However the stream ends, the watch reconnects once from the last revision.
        readLines(res, deliver, () => {
          current = undefined;
          retryLater();
        });
      })
      .catch((error: DatastoreError) => {
        if (error.code === "Unavailable") retryLater();
        else fail(error);
      });
  }

  connect();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.destroy();
    },
  };
}
