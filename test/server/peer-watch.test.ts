// `peersOf` watches hold back updates of other nodes' pods whose peer view is unchanged
// (src/server/peer-changes.ts), over the real SQLite store: the events each watcher receives
// are counted. A node's own pods, unscoped watchers and every change a view keeps still go out;
// a bookmark follows what was held back, so the watcher reaches the store's revision; writes
// the server's follower did not see (before any peersOf watch, replayed) are all sent.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openDatastore } from "../../src/datastore/index.ts";
import { startServer } from "../../src/server/index.ts";
import { WATCH_ALL_PATH } from "../../src/server/store-wide.ts";

const dir = mkdtempSync(join(tmpdir(), "microseg-peer-watch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Event {
  readonly type: string;
  readonly object: {
    kind: string;
    metadata: { name: string; resourceVersion: string; annotations?: object };
  };
}

/** A watch stream whose events are all kept; `until` waits (bounded) for a condition on them. */
class Stream {
  readonly events: Event[] = [];
  readonly #abort = new AbortController();
  #waiters: (() => void)[] = [];

  static async open(base: string, query: string): Promise<Stream> {
    const s = new Stream();
    const res = await fetch(`${base}${WATCH_ALL_PATH}?${query}`, { signal: s.#abort.signal });
    assert.equal(res.status, 200);
    void s.#read(res.body as ReadableStream<Uint8Array>);
    return s;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += decoder.decode(value, { stream: true });
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          this.events.push(JSON.parse(buffered.slice(0, nl)) as Event);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf("\n");
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch {
      // Aborted by close().
    }
  }

  /** Events of pod `name` other than bookmarks. */
  of(name: string): Event[] {
    return this.events.filter((e) => e.type !== "BOOKMARK" && e.object.metadata.name === name);
  }

  /** The highest revision the stream has carried (events and bookmarks). */
  get revision(): number {
    return Math.max(0, ...this.events.map((e) => Number(e.object.metadata.resourceVersion)));
  }

  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`${what}: not within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#abort.abort();
  }
}

function pod(name: string, node: string, app: string, restarts: number) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "shop",
      labels: { app },
      annotations: { restarts: String(restarts) },
    },
    spec: { nodeName: node, containers: [{ name: "c", image: "registry.example/app:1.0" }] },
    status: {
      phase: "Running",
      podIP: `198.18.0.${name.length}`,
      conditions: [{ type: "Ready", status: restarts % 2 === 0 ? "True" : "False" }],
      containerStatuses: [{ name: "c", restartCount: restarts }],
    },
  };
}

describe("peersOf watch", () => {
  it("holds back other nodes' pod updates whose view is unchanged, and only those", async () => {
    const store = await openDatastore(`sqlite:${join(dir, "held.db")}`);
    const server = await startServer({ store, port: 0 });
    const streams: Stream[] = [];
    const open = async (query: string) => {
      const s = await Stream.open(server.url, query);
      streams.push(s);
      return s;
    };
    try {
      await store.apply([
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
        pod("db", "node-2", "db", 0),
      ]);
      // Before any peersOf watch: the server's follower never sees these three.
      const unseenFrom = await store.revision();
      for (let i = 1; i <= 3; i++) await store.apply([pod("db", "node-2", "db", i)]);
      const replay = await open(
        `peersOf=node-1&allowWatchBookmarks=true&resourceVersion=${unseenFrom}`,
      );
      await replay.until(() => replay.of("db").length === 3, "the replayed updates");

      const from = await store.revision();
      const q = `allowWatchBookmarks=true&resourceVersion=${from}`;
      const peer = await open(`peersOf=node-1&${q}`);
      const own = await open(`peersOf=node-2&${q}`);
      const all = await open(q);

      // Status-only: restarts, readiness, an annotation. node-1 gets none of them.
      for (let i = 4; i <= 8; i++) await store.apply([pod("db", "node-2", "db", i)]);
      const statusOnly = await store.revision();
      await peer.until(() => peer.revision >= statusOnly, "node-1 at the store's revision");
      await own.until(() => own.of("db").length === 5, "node-2's own pod, whole");
      await all.until(() => all.of("db").length === 5, "the unscoped watch");
      assert.equal(peer.of("db").length, 0, "node-1 was sent a status-only update of node-2's pod");
      assert.ok(
        peer.events.some(
          (e) => e.type === "BOOKMARK" && Number(e.object.metadata.resourceVersion) === statusOnly,
        ),
        "no bookmark carried the held-back revision",
      );
      assert.ok(
        own.of("db").every((e) => e.object.metadata.annotations),
        "node-2: whole pods",
      );
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const held = /^microseg_api_watch_held_total (\d+)$/m.exec(metrics)?.[1];
      // Five on each of node-1's two watches (the replaying one is still open).
      assert.equal(held, "10", "held-back updates counted");

      // What a view keeps goes out: a relabel, a move to node-1 (whole there), a delete.
      await store.apply([pod("db", "node-2", "cache", 9)]);
      await peer.until(() => peer.of("db").length === 1, "the relabel");
      assert.equal(peer.of("db")[0]?.type, "MODIFIED");
      assert.equal(peer.of("db")[0]?.object.metadata.annotations, undefined, "a view");
      await store.apply([pod("db", "node-1", "cache", 9)]);
      await peer.until(() => peer.of("db").length === 2, "the move");
      assert.ok(peer.of("db")[1]?.object.metadata.annotations, "now node-1's own: whole");
      await store.apply([pod("db", "node-1", "cache", 10)]);
      await peer.until(() => peer.of("db").length === 3, "node-1's own status update");
      // A watch resuming from before the relabel, now that the follower's last word on the pod
      // is "unchanged" (that status update): the relabel and the move are replayed, not held.
      const ownUpdate = await store.revision();
      const late = await open(
        `peersOf=node-3&allowWatchBookmarks=true&resourceVersion=${statusOnly}`,
      );
      await late.until(() => late.revision >= ownUpdate, "the late watch at the store's revision");
      assert.deepEqual(
        late.of("db").map((e) => (e.object as { metadata: { labels?: object } }).metadata.labels),
        [{ app: "cache" }, { app: "cache" }],
        "the late watch must get the relabel and the move, and only those",
      );
      await store.delete({
        kind: { apiVersion: "v1", kind: "Pod" },
        namespace: "shop",
        name: "db",
      });
      await peer.until(() => peer.of("db").at(-1)?.type === "DELETED", "the delete");
      await own.until(() => own.of("db").at(-1)?.type === "DELETED", "the delete on node-2");
      await all.until(() => all.of("db").at(-1)?.type === "DELETED", "the unscoped delete");
      assert.equal(all.of("db").length, 5 + 4, "the unscoped watch gets everything");
    } finally {
      for (const s of streams) s.close();
      await server.close();
      await store.close();
    }
  });
});
