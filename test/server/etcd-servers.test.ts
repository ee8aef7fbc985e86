// Several API servers on one etcd: they hold no state of their own, so a write through one is
// read, listed and watched through another, compare-and-swap holds across them, and one of
// them going away costs the others nothing. Real etcd (started fresh by this file), real
// servers on loopback, the real HTTP client.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApiClient } from "../../src/client/index.ts";
import { type Datastore, openDatastore } from "../../src/datastore/index.ts";
import { type RunningServer, startServer } from "../../src/server/index.ts";
import { POD, pod, Recorder, relabel } from "../datastore/contract-kit.ts";
import { type EtcdServer, startEtcd } from "../etcd-server.ts";

interface Api {
  readonly store: Datastore;
  readonly server: RunningServer;
  readonly client: ApiClient;
}

let etcd: EtcdServer;
const apis: Api[] = [];

async function startApi(): Promise<Api> {
  const store = await openDatastore(etcd.url);
  const server = await startServer({ store, port: 0 });
  const api = { store, server, client: new ApiClient({ server: server.url }) };
  apis.push(api);
  return api;
}

async function stopApi(api: Api): Promise<void> {
  await api.server.close();
  await api.store.close();
  apis.splice(apis.indexOf(api), 1);
}

before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  for (const api of [...apis]) await stopApi(api);
  await etcd?.stop();
});

test("three API servers on one etcd serve one store: writes, reads, watches and CAS across them", async () => {
  const [a, b, c] = [await startApi(), await startApi(), await startApi()];
  const from = await b.client.revision();
  const watch = new Recorder(c.client as unknown as Datastore, {
    fromRevision: from,
    namespace: "many",
  });
  const made = await a.client.create(pod("many", "web", { v: "1" }));
  assert.deepEqual(await b.client.get({ kind: POD, namespace: "many", name: "web" }), made);
  const set = await b.client.applySet([pod("many", "api"), pod("many", "db")]);
  assert.equal(set.revision, from + 3);
  assert.equal(await a.client.revision(), from + 3);
  assert.deepEqual(
    (await c.client.list({ kind: POD, namespace: "many" })).items.map((r) => r.metadata.name),
    ["api", "db", "web"],
  );
  await watch.until(() => watch.lines.length === 3, "three events through the third server");
  assert.deepEqual(watch.lines, [
    `ADDED Pod many/web@${from + 1}`,
    `ADDED Pod many/api@${from + 2}`,
    `ADDED Pod many/db@${from + 3}`,
  ]);
  watch.stop();

  // The same stale version sent to every server at once: exactly one write wins.
  const outcomes = await Promise.all(
    [a, b, c].map((api, i) =>
      api.client.replace(relabel(made, { v: `server${i}` })).then(
        () => "ok",
        (e: { code?: string }) => e.code ?? String(e),
      ),
    ),
  );
  assert.deepEqual([...outcomes].sort(), ["Conflict", "Conflict", "ok"], outcomes.join(" "));
  const winner = outcomes.indexOf("ok");
  const now = await c.client.get({ kind: POD, namespace: "many", name: "web" });
  assert.deepEqual(now.metadata.labels, { v: `server${winner}` });

  // One server gone: the others go on, and a new one sees everything.
  await stopApi(a);
  await b.client.create(pod("many", "after-a"));
  const d = await startApi();
  assert.equal(
    (await d.client.list({ kind: POD, namespace: "many" })).items.length,
    4,
    "a server started later serves the whole store",
  );
  assert.equal(await d.client.revision(), await c.client.revision());
});
