// The agents' view of the API: every kind in one snapshot and one watch, through the client
// and the DatastoreSource the agent follows, against the real server and SQLite store; the
// watch resumes across a server restart on the same file without missing or repeating events.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ApiClient } from "../../src/client/index.ts";
import { DatastoreSource, openDatastore, type SourceBatch } from "../../src/datastore/index.ts";
import { parseResource, type Resource } from "../../src/model/index.ts";
import { startServer } from "../../src/server/index.ts";

const dir = mkdtempSync(join(tmpdir(), "microseg-everything-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const parsed = (doc: unknown): Resource => {
  const r = parseResource(doc);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
  return r.value;
};
const ns = (name: string) => parsed({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
const pod = (name: string, app: string) =>
  parsed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop", labels: { app } },
    spec: { containers: [{ name: "c" }] },
  });

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("snapshot and watch of every kind; the watch resumes across a server restart", async () => {
  const file = `sqlite:${join(dir, "store.db")}`;
  let store = await openDatastore(file);
  let server = await startServer({ store, port: 0 });
  const port = Number(new URL(server.url).port);
  const client = new ApiClient({ server: server.url });
  await client.applySet([ns("shop"), pod("web-0", "web")]);

  const source = new DatastoreSource(client);
  const snap = await source.snapshot();
  const kinds = new Set(snap.resources.map((r) => r.kind));
  assert.ok(kinds.has("Namespace") && kinds.has("Pod") && kinds.has("Tier"), [...kinds].join());

  const batches: SourceBatch[] = [];
  const errors: string[] = [];
  const watch = source.watch({
    onBatch: (b) => batches.push(b),
    onError: (e) => errors.push(e.message),
  });
  const seen = () => batches.flatMap((b) => b.events);
  try {
    await client.create(pod("web-1", "web"));
    await until("web-1", () => seen().length === 1);

    // The server goes away and comes back on the same file and port; writes in between.
    await server.close();
    await store.close();
    store = await openDatastore(file);
    await store.create(pod("web-2", "web"));
    server = await startServer({ store, port });
    await store.delete({
      kind: { apiVersion: "v1", kind: "Pod" },
      namespace: "shop",
      name: "web-0",
    });
    await until("web-2 and the delete", () => seen().length === 3, 20_000);

    const events = seen().map((e) =>
      e.type === "upsert" ? `upsert ${e.resource.metadata.name}` : `delete ${e.key}`,
    );
    assert.deepEqual(events, ["upsert web-1", "upsert web-2", "delete core/Pod/shop/web-0"]);
    const revisions = seen().map((e) => e.revision ?? 0);
    assert.deepEqual(
      revisions,
      [...revisions].sort((a, b) => a - b),
    );
    assert.equal(new Set(revisions).size, revisions.length, "no revision twice");
  } finally {
    watch.stop();
    await server.close();
    await store.close();
  }
});
