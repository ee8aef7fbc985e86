// The client against the real API server over a real SQLite store (in this process): the
// routes the CLI and the agents rely on, beyond what the wire-format tests pin down.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiClient, ApiError } from "../../src/client/index.ts";
import { type DatastoreError, ExpiredError, type WatchEvent } from "../../src/datastore/index.ts";
import { loadManifests, type Resource } from "../../src/model/index.ts";
import { type Harness, startHarness } from "../server/harness.ts";

let h: Harness;
let client: ApiClient;
let examples: Resource[];

before(async () => {
  h = await startHarness();
  client = new ApiClient({ server: h.url });
  const loaded = await loadManifests(["examples/blue-ldap"]);
  assert.ok(loaded.ok);
  examples = loaded.resources;
});
after(async () => {
  await h?.close();
});

const POD = { apiVersion: "v1", kind: "Pod" } as const;

/** Events of an all-kinds watch from `from` until `until` says enough, or its error. */
function watchAll(from: number, until: (events: WatchEvent[]) => boolean) {
  const events: WatchEvent[] = [];
  return new Promise<{ events: WatchEvent[]; error?: DatastoreError }>((resolve) => {
    const w = client.watch(
      { fromRevision: from },
      {
        onEvent(e) {
          events.push(e);
          if (until(events)) {
            w.stop();
            resolve({ events });
          }
        },
        onError(error) {
          resolve({ events, error });
        },
      },
    );
  });
}

describe("ApiClient against microseg server", () => {
  it("applySet reports each object; snapshot returns them all at the apply's revision", async () => {
    const applied = await client.applySet(examples);
    assert.equal(applied.results.length, examples.length);
    assert.ok(applied.results.every((r) => r.action === "created"));
    const snap = await client.snapshot();
    assert.equal(snap.revision, applied.revision);
    for (const r of examples) {
      assert.ok(
        snap.items.some((i) => i.kind === r.kind && i.metadata.name === r.metadata.name),
        `${r.kind} ${r.metadata.name} in the snapshot`,
      );
    }
  });

  it("one watch carries every kind, in revision order, from the snapshot's revision", async () => {
    const { revision } = await client.snapshot();
    const done = watchAll(revision, (es) => es.filter((e) => e.type !== "BOOKMARK").length === 2);
    await client.patch(
      { kind: POD, namespace: "directory", name: "blue-web-0" },
      { metadata: { labels: { seen: "yes" } } },
    );
    await client.delete({
      kind: { apiVersion: "microseg.io/v1", kind: "GlobalAlert" },
      name: "blue-ldap-violation",
    });
    const { events, error } = await done;
    assert.equal(error, undefined);
    const changes = events.flatMap((e) => (e.type === "BOOKMARK" ? [] : [e]));
    assert.deepEqual(
      changes.map((e) => `${e.type} ${e.object.kind}`),
      ["MODIFIED Pod", "DELETED GlobalAlert"],
    );
    assert.ok((changes[0]?.revision ?? 0) > revision);
    assert.ok((changes[1]?.revision ?? 0) > (changes[0]?.revision ?? 0));
  });

  it("a watch from a compacted revision ends with ExpiredError", async () => {
    const now = await client.revision();
    await h.store.compact(now);
    const { error } = await watchAll(1, () => false);
    assert.ok(error instanceof ExpiredError, String(error));
  });

  it("describe serves src/analysis/describe over the store; a missing object is NotFound", async () => {
    const d = await client.describe({ kind: POD, namespace: "directory", name: "ldap-server-0" });
    assert.equal(d.type, "endpoint");
    if (d.type === "endpoint") {
      assert.deepEqual(
        d.ingress.tiers.map((t) => t.tier),
        ["security"],
      );
      assert.deepEqual(d.endpoint.addresses, ["198.18.20.10"]);
    }
    const missing = await client
      .describe({ kind: POD, namespace: "directory", name: "nope" })
      .catch((e: unknown) => e);
    assert.ok(missing instanceof ApiError);
    assert.equal(missing.code, "NotFound");
  });

  it("explain and matrix judge the live store", async () => {
    const e = await client.explain({
      from: "directory/blue-web-0",
      to: "directory/ldap-server-0",
      port: 389,
      protocol: "TCP",
    });
    assert.equal(e.allowed, false);
    const m = await client.matrix([{ port: 389, protocol: "TCP" }]);
    assert.equal(m.results.length, 36);
    // The filter is applied by the server: 2 clients x 2 servers, one port.
    const narrowed = await client.matrix([{ port: 389, protocol: "TCP" }], {
      namespace: "directory",
      from: "role == 'ldap-client'",
      to: "role == 'ldap-server'",
    });
    assert.deepEqual(narrowed.results.map((c) => `${c.from} ${c.to}`).sort(), [
      "directory/ldap-client-0 directory/ldap-server-0",
      "directory/ldap-client-0 directory/ldap-server-1",
      "directory/ldap-client-1 directory/ldap-server-0",
      "directory/ldap-client-1 directory/ldap-server-1",
    ]);
    const elsewhere = await client.matrix([{ port: 389, protocol: "TCP" }], { namespace: "x" });
    assert.equal(elsewhere.results.length, 0);
  });

  it("agent status goes up and is listed", async () => {
    await client.putAgentStatus({
      node: "node-1",
      revision: 3,
      ready: true,
      resources: 10,
      endpoints: 4,
      policies: 2,
      sets: 3,
      fullSyncs: 1,
    });
    const agents = await client.listAgents();
    assert.deepEqual(
      agents.map((a) => [a.node, a.revision, a.ready]),
      [["node-1", 3, true]],
    );
  });
});
