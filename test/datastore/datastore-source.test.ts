// DatastoreSource over the real SQLite store: snapshot, batches of changes with revisions, and
// after an expired watch a fresh snapshot of which only the difference reaches the consumer.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import {
  DatastoreSource,
  type SourceBatch,
  type SourceError,
  SqliteDatastore,
} from "../../src/datastore/index.ts";
import { POD, pod, relabel } from "./contract-kit.ts";

let dir: string;
let store: SqliteDatastore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "microseg-source-"));
  store = SqliteDatastore.open(join(dir, "store.db"));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Records batches and errors; waits for a condition without sleeping. */
function follow(source: DatastoreSource) {
  const batches: SourceBatch[] = [];
  const errors: SourceError[] = [];
  let wake: (() => void) | undefined;
  const w = source.watch({
    onBatch: (b) => {
      batches.push(b);
      wake?.();
    },
    onError: (e) => {
      errors.push(e);
      wake?.();
    },
  });
  const until = async (ok: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  };
  const describe = (b: SourceBatch) =>
    b.events.map((e) =>
      e.type === "delete" ? `delete ${e.key}` : `upsert ${e.resource.metadata.name}`,
    );
  return { batches, errors, stop: () => w.stop(), until, describe };
}

test("snapshot, then one batch per applied set, with the store's revisions", async () => {
  await store.apply([pod("src", "a"), pod("src", "b")]);
  const source = new DatastoreSource(store);
  const snap = await source.snapshot();
  assert.equal(snap.revision, await store.revision());
  assert.deepEqual(
    snap.resources.filter((r) => r.kind === "Pod").map((r) => r.metadata.name),
    ["a", "b"],
  );
  const f = follow(source);
  const applied = await store.apply([pod("src", "c"), pod("src", "a", { x: "1" })]);
  await store.delete({ kind: POD, namespace: "src", name: "b" });
  await f.until(() => f.batches.length === 2, "two batches");
  assert.deepEqual(f.describe(f.batches[0]!), ["upsert c", "upsert a"]);
  assert.equal(f.batches[0]!.revision, applied.revision);
  assert.deepEqual(f.describe(f.batches[1]!), ["delete core/Pod/src/b"]);
  assert.equal(f.batches[1]!.revision, applied.revision + 1);
  f.stop();
});

test("an expired watch resyncs and sends only the difference", async () => {
  await store.apply([pod("exp", "same"), pod("exp", "changed"), pod("exp", "gone")]);
  const source = new DatastoreSource(store);
  await source.snapshot();
  // While the consumer is away, changes happen and the log is compacted past its revision.
  const changed = await store.get({ kind: POD, namespace: "exp", name: "changed" });
  await store.update(relabel(changed, { v: "2" }));
  await store.delete({ kind: POD, namespace: "exp", name: "gone" });
  await store.create(pod("exp", "new"));
  await store.compact(await store.revision());
  const f = follow(source);
  await f.until(() => f.batches.length === 1, "the resync batch");
  assert.deepEqual(f.describe(f.batches[0]!).sort(), [
    "delete core/Pod/exp/gone",
    "upsert changed",
    "upsert new",
  ]);
  assert.equal(f.batches[0]!.revision, await store.revision());
  assert.deepEqual(f.errors, [], "an expiry is handled, not reported");
  // And it follows on from the new snapshot.
  await store.create(pod("exp", "after"));
  await f.until(() => f.batches.length === 2, "the next change");
  assert.deepEqual(f.describe(f.batches[1]!), ["upsert after"]);
  f.stop();
});

test("without a snapshot, the first batch carries everything", async () => {
  await store.apply([pod("first", "a")]);
  const source = new DatastoreSource(store);
  const f = follow(source);
  await f.until(() => f.batches.length === 1, "the first batch");
  const names = f.describe(f.batches[0]!);
  assert.ok(names.includes("upsert a"));
  assert.ok(names.includes("upsert default"), "the built-in tiers too");
  f.stop();
});

test("a store that goes away is reported as a SourceError", async () => {
  const source = new DatastoreSource(store, { retryMs: { first: 10, max: 20 } });
  await source.snapshot();
  const f = follow(source);
  await store.close();
  await f.until(() => f.errors.length >= 1, "the error");
  assert.equal(f.errors[0]!.code, "datastore.source");
  assert.match(f.errors[0]!.message, /closed/);
  f.stop();
  await assert.rejects(source.snapshot(), (e: SourceError) => e.code === "datastore.source");
});
