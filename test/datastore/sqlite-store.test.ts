// What the SQLite store does beyond the shared contract: opening (URLs, several processes
// creating one file at once, files it cannot read), a writer locked out past the busy timeout,
// compaction by retention, and a hub whose log another process compacted away.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import Database from "better-sqlite3";
import { openDatastore, SqliteDatastore } from "../../src/datastore/index.ts";
import { Child, POD, pod, Recorder, rejects, TIER } from "./contract-kit.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "microseg-sqlite-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("openDatastore: sqlite:PATH creates the file and its directories; other URLs are refused", async () => {
  const store = await openDatastore(`sqlite:${join(dir, "a", "b", "store.db")}`);
  assert.equal((await store.list({ kind: TIER })).items.length, 3);
  await store.close();
  for (const [url, why] of [
    ["mysql://127.0.0.1:3306", /unknown scheme "mysql:"/],
    ["sqlite:", /needs a file path/],
    ["store.db", /no scheme/],
  ] as const) {
    const err = await rejects(() => openDatastore(url), "Invalid");
    assert.match(err.message, why);
    assert.ok(err.message.includes(url), `the error names the URL: ${err.message}`);
  }
});

test("several processes creating one store at once seed the built-in tiers exactly once", async () => {
  const url = `sqlite:${join(dir, "race.db")}`;
  const openers = Array.from({ length: 4 }, () => new Child(["open", url]));
  try {
    await Promise.all(openers.map((c) => c.untilLines(1)));
    assert.deepEqual(
      openers.map((c) => c.lines[0]),
      ["3", "3", "3", "3"],
    );
  } finally {
    for (const c of openers) c.kill();
  }
  const store = await openDatastore(url);
  assert.deepEqual(
    (await store.list({ kind: TIER })).items.map((t) => t.metadata.name),
    ["adminnetworkpolicy", "baselineadminnetworkpolicy", "default"],
  );
  await store.close();
});

test("a file that is not a store, or of another schema version, is refused clearly", async () => {
  const junk = join(dir, "junk.db");
  await writeFile(junk, "this is not a database, just text that is long enough to read");
  const err = await rejects(async () => SqliteDatastore.open(junk), "Unavailable");
  assert.match(err.message, /not a database/);
  const future = join(dir, "future.db");
  SqliteDatastore.open(future).close();
  const raw = new Database(future);
  raw.prepare("UPDATE meta SET value = 99 WHERE name = 'schema'").run();
  raw.close();
  assert.throws(() => SqliteDatastore.open(future), /schema version 99/);
});

test("a writer locked out past the busy timeout gets Unavailable and changes nothing", async () => {
  const path = join(dir, "locked.db");
  const store = SqliteDatastore.open(path, { busyTimeoutMs: 50 });
  const before = await store.revision();
  const holder = new Database(path);
  holder.exec("BEGIN IMMEDIATE");
  try {
    const err = await rejects(() => store.create(pod("lock", "a")), "Unavailable");
    assert.match(err.message, /locked|busy/i);
  } finally {
    holder.exec("ROLLBACK");
    holder.close();
  }
  assert.equal(await store.revision(), before);
  await rejects(() => store.get({ kind: POD, namespace: "lock", name: "a" }), "NotFound");
  await store.create(pod("lock", "a"));
  await store.close();
});

test("retention compacts old revisions; watches from there expire, recent ones work", async () => {
  const store = SqliteDatastore.open(join(dir, "retain.db"), { retainRevisions: 50 });
  for (let i = 0; i < 210; i++) await store.create(pod("keep", `p${i}`));
  const end = await store.revision();
  const old = new Recorder(store, { fromRevision: 1 });
  await old.until(() => old.error !== undefined, "expiry");
  assert.equal(old.error?.code, "Expired");
  const recent = new Recorder(store, { fromRevision: end - 10, namespace: "keep" });
  await recent.until(() => recent.lines.length === 10, "the last ten");
  recent.stop();
  assert.equal((await store.list({ kind: POD, namespace: "keep" })).items.length, 210);
  await store.close();
});

test("a watch whose unread log another connection compacted expires rather than skip events", async () => {
  const path = join(dir, "behind.db");
  const watched = SqliteDatastore.open(path);
  const other = SqliteDatastore.open(path);
  const w = new Recorder(watched, { fromRevision: await watched.revision() });
  // No timer runs between these awaits, so the watcher's hub cannot read in between.
  for (let i = 0; i < 5; i++) await other.create(pod("behind", `p${i}`));
  await other.compact(await other.revision());
  await w.until(() => w.error !== undefined, "expiry");
  assert.equal(w.error?.code, "Expired");
  assert.deepEqual(w.lines, [], "no partial history");
  await other.close();
  await watched.close();
});

test("a watch from a negative or fractional revision is Invalid", async () => {
  const store = SqliteDatastore.open(join(dir, "bad-watch.db"));
  for (const from of [-1, 1.5]) {
    const w = new Recorder(store, { fromRevision: from });
    await w.until(() => w.error !== undefined, `the error for ${from}`);
    assert.equal(w.error?.code, "Invalid");
  }
  await store.close();
});
