// What the etcd store does beyond the shared contract, against an etcd this file starts fresh:
// URLs, several processes seeding one store at once, etcd's own compaction (an operator's)
// ending a watch as ExpiredError, retention compacting etcd's history too, and etcd going away
// and coming back (calls Unavailable, watches ended; the same store object works again and a
// follower resyncs without a gap), and a set larger than etcd's transaction limits.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  DatastoreSource,
  type EtcdDatastore,
  ExpiredError,
  openDatastore,
} from "../../src/datastore/index.ts";
import { resourceKey } from "../../src/model/index.ts";
import { type EtcdServer, startEtcd } from "../etcd-server.ts";
import { Child, POD, pod, Recorder, rejects, TIER } from "./contract-kit.ts";

let etcd: EtcdServer;
let prefixes = 0;
const freshUrl = () => `${etcd.url}/etcd-store-${++prefixes}`;

before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

test("openDatastore: etcd URLs name hosts and an optional prefix; bad ones are Invalid, naming the URL", async () => {
  for (const [url, why] of [
    ["etcd:127.0.0.1:2379", /etcd:\/\/HOST:PORT/],
    ["etcd://", /at least one HOST:PORT/],
    ["etcd://127.0.0.1", /"127.0.0.1" is not HOST:PORT/],
    ["etcd://127.0.0.1:99999", /is not HOST:PORT/],
    ["etcd://127.0.0.1:2379/has space", /key prefix/],
  ] as const) {
    const err = await rejects(() => openDatastore(url), "Invalid");
    assert.match(err.message, why);
    assert.ok(err.message.includes(url), `the error names the URL: ${err.message}`);
  }
  // Two prefixes in one etcd are two stores.
  const a = await openDatastore(freshUrl());
  const b = await openDatastore(freshUrl());
  await a.create(pod("url", "only-in-a"));
  assert.equal((await a.list({ kind: POD, namespace: "url" })).items.length, 1);
  assert.equal((await b.list({ kind: POD, namespace: "url" })).items.length, 0);
  await a.close();
  await b.close();
});

test("several processes opening one new store at once seed the built-in tiers exactly once", async () => {
  const url = freshUrl();
  const openers = Array.from({ length: 3 }, () => new Child(["open", url]));
  try {
    await Promise.all(openers.map((c) => c.untilLines(1)));
    assert.deepEqual(
      openers.map((c) => c.lines[0]),
      ["3", "3", "3"],
    );
  } finally {
    for (const c of openers) c.kill();
  }
  const store = await openDatastore(url);
  assert.deepEqual(
    (await store.list({ kind: TIER })).items.map((t) => t.metadata.name),
    ["adminnetworkpolicy", "baselineadminnetworkpolicy", "default"],
  );
  assert.equal(await store.revision(), 3);
  await store.close();
});

test("etcd compacted by an operator past a watch's start ends the watch with ExpiredError", async () => {
  const store = (await openDatastore(freshUrl())) as EtcdDatastore;
  try {
    await store.create(pod("op", "a"));
    const from = await store.revision();
    await store.create(pod("op", "b"));
    await store.create(pod("op", "c"));
    // What `etcdctl compact` does: etcd forgets history up to its current revision.
    const now = await store.client.kv.range({ key: Buffer.from("/") });
    await store.client.kv.compact({ revision: now.header.revision });
    const w = new Recorder(store, { fromRevision: from });
    await w.until(() => w.error !== undefined, "the expired watch");
    assert.ok(w.error instanceof ExpiredError, String(w.error));
    assert.deepEqual(w.lines, [], "no event of a compacted stretch is delivered");
    // From the store's revision the watch works.
    const fresh = new Recorder(store, { fromRevision: await store.revision(), namespace: "op" });
    await store.create(pod("op", "d"));
    await fresh.until(() => fresh.lines.length === 1, "the next event");
    fresh.stop();
  } finally {
    await store.close();
  }
});

test("retention compaction forgets the change log and etcd's history with it", async () => {
  const store = (await openDatastore(freshUrl(), {
    etcd: { retainRevisions: 20 },
  })) as EtcdDatastore;
  try {
    const start = await store.revision();
    const before = (await store.client.kv.range({ key: Buffer.from("/") })).header.revision;
    for (let i = 0; i < 110; i++) await store.create(pod("ret", `p${i}`));
    const end = await store.revision();
    // Compaction runs in the background after the 100th write.
    const deadline = Date.now() + 10_000;
    let expired: Recorder | undefined;
    while (Date.now() < deadline) {
      const probe = new Recorder(store, { fromRevision: start });
      await probe.until(() => probe.error !== undefined || probe.events.length > 0, "the probe");
      probe.stop();
      if (probe.error) {
        expired = probe;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(expired?.error instanceof ExpiredError, "an old revision expires");
    await assert.rejects(
      store.client.kv.range({ key: Buffer.from("/"), revision: before }),
      /compacted/,
      "etcd's history is compacted too",
    );
    const recent = new Recorder(store, { fromRevision: end - 5, namespace: "ret" });
    await recent.until(() => recent.lines.length === 5, "the last five events");
    recent.stop();
  } finally {
    await store.close();
  }
});

test("etcd killed: calls are Unavailable and watches end; back, the same store works and a follower resyncs", async () => {
  const url = freshUrl();
  const store = await openDatastore(url, { etcd: { callTimeoutMs: 2_000 } });
  const source = new DatastoreSource(store, { retryMs: { first: 50, max: 200 } });
  const errors: string[] = [];
  /** Resource keys the follower has given, as an agent would hold them. */
  const seen = new Set<string>();
  let follow: { stop(): void } | undefined;
  try {
    await store.create(pod("down", "before"));
    const snap = await source.snapshot();
    for (const r of snap.resources) seen.add(resourceKey(r));
    follow = source.watch({
      onBatch: (b) => {
        for (const e of b.events) {
          if (e.type === "upsert") seen.add(resourceKey(e.resource));
          else seen.delete(e.key);
        }
      },
      onError: (e) => errors.push(e.message),
    });
    const w = new Recorder(store, { fromRevision: await store.revision() });
    await etcd.kill();
    await w.until(() => w.error !== undefined, "the watch to end", 30_000);
    assert.equal(w.error?.code, "Unavailable");
    await rejects(() => store.create(pod("down", "while-down")), "Unavailable");
    await etcd.start();
    // The same client reconnects; the write lands and the follower gets it.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await store.create(pod("down", "after"));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const until = Date.now() + 30_000;
    while (!seen.has("core/Pod/down/after") && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([...seen].filter((k) => k.startsWith("core/Pod/")).sort(), [
      "core/Pod/down/after",
      "core/Pod/down/before",
    ]);
    assert.ok(errors.length > 0, "the follower reported the outage");
  } finally {
    follow?.stop();
    await store.close();
  }
});

test("a set too big for etcd's transaction limits is refused whole, naming the flags", async () => {
  const small = await startEtcd({ defaultLimits: true });
  const store = await openDatastore(small.url);
  try {
    const rev = await store.revision();
    const set = Array.from({ length: 200 }, (_, i) => pod("big", `p${i}`));
    const err = await rejects(() => store.apply(set), "Invalid");
    assert.match(err.message, /--max-txn-ops/);
    assert.match(err.message, /nothing was applied/);
    assert.equal(await store.revision(), rev);
    assert.equal((await store.list({ kind: POD, namespace: "big" })).items.length, 0);
    // Within the limits the same store takes a set.
    await store.apply(set.slice(0, 100));
    assert.equal((await store.list({ kind: POD, namespace: "big" })).items.length, 100);
  } finally {
    await store.close();
    await small.stop();
  }
});
