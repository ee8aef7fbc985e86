// One store watch on etcd: etcd's own watch over the store's prefix, from the etcd revision of
// the first transaction after `fromRevision` (found through the log keys, keys.ts), with the
// previous value of each key, translated into microseg's events. A put of PREFIX/rev comes
// first in every write transaction (store.ts), so the deletes of that transaction learn their
// revision from it; object puts carry theirs in metadata.resourceVersion. Events at or below
// `fromRevision` (a resume inside a set applied together) are skipped.
//
// The watch never resumes on its own: a broken stream ends it with Unavailable, and etcd's
// compaction (ours or an operator's) with ExpiredError, as the interface says; the follower
// (DatastoreSource, the API server's watch) resumes or relists.
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { kindId, kindInfo } from "../kinds.ts";
import {
  DatastoreError,
  ExpiredError,
  type StoredResource,
  type Watch,
  type WatchEventType,
  type WatchListener,
  type WatchOptions,
} from "../types.ts";
import { type KeySpace, logKey, parseObjectKey, prefixEnd } from "./keys.ts";

export interface WatchContext {
  readonly client: Etcd3;
  readonly keys: KeySpace;
  /** Maps a failed etcd call to a DatastoreError (Unavailable). */
  readonly fail: (e: unknown) => DatastoreError;
}

/**
 * Where in etcd a watch from `fromRevision` starts (or the error that it cannot), and the
 * store's revision then: the watch has caught up once it has read that far.
 */
async function startRevision(
  ctx: WatchContext,
  fromRevision: number,
): Promise<{ readonly etcd: string; readonly current: number }> {
  const { keys } = ctx;
  const res = await ctx.client.kv.txn({
    compare: [],
    success: [
      { request_range: { key: Buffer.from(keys.compacted) } },
      { request_range: { key: Buffer.from(keys.revision) } },
      {
        request_range: {
          key: Buffer.from(logKey(keys, fromRevision + 1)),
          range_end: prefixEnd(keys.log),
          limit: 1,
        },
      },
    ],
  });
  const compactedKv = res.responses[0]?.response_range.kvs[0];
  const compacted = compactedKv ? Number(compactedKv.value.toString()) : 0;
  if (fromRevision < compacted) throw new ExpiredError(fromRevision, compacted);
  const revisionKv = res.responses[1]?.response_range.kvs[0];
  const current = revisionKv ? Number(revisionKv.value.toString()) : 0;
  const first = res.responses[2]?.response_range.kvs[0];
  return { etcd: first ? first.mod_revision : String(BigInt(res.header.revision) + 1n), current };
}

export function watchEtcd(
  ctx: WatchContext,
  opts: WatchOptions,
  listener: WatchListener,
  onStop: () => void,
): Watch {
  const kind = opts.kind ? kindId(kindInfo(opts.kind)) : undefined;
  const from = opts.fromRevision;
  let stopped = false;
  let watcher: Watcher | undefined;
  let bookmark: NodeJS.Timeout | undefined;
  /** The last microseg revision this watch has read past (for bookmarks). */
  let position = from;
  /** Bookmarks wait until the watch has read up to the store's revision at its start. */
  let catchUpTo = Number.POSITIVE_INFINITY;
  /** microseg's revision at the etcd revision of the transaction being read. */
  let txn = { etcd: "", revision: 0 };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(bookmark);
    void watcher?.cancel().catch(() => {});
    onStop();
  };
  const fail = (error: DatastoreError): void => {
    if (stopped) return;
    stop();
    listener.onError(error);
  };
  const armBookmark = (): void => {
    if (opts.bookmarkMs === undefined || stopped || position < catchUpTo) return;
    clearTimeout(bookmark);
    bookmark = setTimeout(() => {
      if (stopped) return;
      listener.onEvent({ type: "BOOKMARK", revision: position });
      armBookmark();
    }, opts.bookmarkMs);
  };
  const matches = (key: string): boolean => {
    const parsed = parseObjectKey(ctx.keys, key);
    if (!parsed) return false;
    if (kind !== undefined && parsed.kind !== kind) return false;
    return opts.namespace === undefined || parsed.namespace === opts.namespace;
  };
  const emit = (type: WatchEventType, object: StoredResource, revision: number): void => {
    if (revision <= from || stopped) return;
    listener.onEvent({ type, object, revision });
  };
  const onObject = (type: "Put" | "Delete", kv: IKeyValue, prev: IKeyValue | undefined): void => {
    if (type === "Put") {
      const object = JSON.parse(kv.value.toString()) as StoredResource;
      emit(
        kv.version === "1" ? "ADDED" : "MODIFIED",
        object,
        Number(object.metadata.resourceVersion),
      );
      return;
    }
    if (!prev || txn.etcd !== kv.mod_revision) {
      fail(new DatastoreError("Unavailable", `etcd: a delete of ${kv.key} without its revision`));
      return;
    }
    const last = JSON.parse(prev.value.toString()) as StoredResource;
    const object = {
      ...last,
      metadata: { ...last.metadata, resourceVersion: String(txn.revision) },
    } as StoredResource;
    emit("DELETED", object, txn.revision);
  };
  const onData = (res: IWatchResponse): void => {
    for (const event of res.events) {
      if (stopped) return;
      const key = event.kv.key.toString();
      if (key === ctx.keys.revision && event.type === "Put") {
        txn = { etcd: event.kv.mod_revision, revision: Number(event.kv.value.toString()) };
        position = Math.max(position, txn.revision);
      } else if (matches(key)) {
        onObject(event.type, event.kv, event.prev_kv);
      }
    }
    armBookmark();
  };

  void startRevision(ctx, from)
    .then(({ etcd: etcdRevision, current }) => {
      if (stopped) return;
      catchUpTo = current;
      watcher = ctx.client
        .watch()
        .prefix(ctx.keys.prefix)
        .startRevision(etcdRevision)
        .withPreviousKV()
        .watcher();
      watcher.on("data", onData);
      watcher.on("disconnected", (e: Error) =>
        fail(new DatastoreError("Unavailable", `etcd watch: ${e.message}`)),
      );
      // etcd 3.4 cancels a watch whose start was compacted without saying why: a read at
      // that revision tells.
      watcher.on("error", (e: Error) => {
        void ctx.client.kv
          .range({ key: Buffer.from(ctx.keys.revision), revision: etcdRevision })
          .then(
            () => new DatastoreError("Unavailable", `etcd watch: ${e.message}`),
            (read: Error) =>
              /compacted/.test(read.message)
                ? new ExpiredError(from, from)
                : new DatastoreError("Unavailable", `etcd watch: ${e.message}`),
          )
          .then(fail);
      });
      armBookmark();
    })
    .catch((e: unknown) => fail(e instanceof DatastoreError ? e : ctx.fail(e)));

  return { stop };
}
