// MemorySource: batches pushed by the test reach watchers before push returns.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemorySource, type SourceBatch, SourceError } from "../../src/datastore/index.ts";
import { pod } from "./contract-kit.ts";

test("pushed batches reach every watcher at once, with increasing revisions", async () => {
  const source = new MemorySource([pod("m", "a")]);
  assert.deepEqual(
    (await source.snapshot()).resources.map((r) => r.metadata.name),
    ["a"],
  );
  const got: SourceBatch[] = [];
  const w = source.watch({ onBatch: (b) => got.push(b), onError: (e) => assert.fail(e) });
  const first = source.upsert(pod("m", "b"), pod("m", "a", { x: "1" }));
  assert.deepEqual(got, [first]);
  assert.ok(first.events.every((e) => e.revision === first.revision));
  const second = source.remove("core/Pod/m/a");
  assert.equal(second.revision, first.revision + 1);
  assert.deepEqual([...source.objects.keys()], ["core/Pod/m/b"]);
  w.stop();
  source.upsert(pod("m", "c"));
  assert.equal(got.length, 2, "a stopped watcher gets nothing");
});

test("errors and failing snapshots are under the test's control", async () => {
  const source = new MemorySource();
  const errors: SourceError[] = [];
  source.watch({ onBatch: () => assert.fail("no batch expected"), onError: (e) => errors.push(e) });
  source.fail(new SourceError("broken"));
  assert.equal(errors[0]?.message, "broken");
  source.failSnapshots(new SourceError("no state"));
  await assert.rejects(source.snapshot(), /no state/);
  source.failSnapshots(undefined);
  assert.deepEqual((await source.snapshot()).resources, []);
});
