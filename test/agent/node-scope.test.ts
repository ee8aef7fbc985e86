// Node scoping: an agent that keeps other nodes' pods as peer views (src/policy/peer-view.ts,
// DatastoreSource's `project`) must enforce exactly what an agent holding every object whole
// enforces. Random churn (test/engine/random-cluster.ts: Kubernetes, admin and Calico policies
// with Deny and Pass rules, tiers, namespace and node relabels, pods relabelled and moved
// between nodes, network sets) is written to a real SQLite store, with cluster noise on every
// pod (annotations, managedFields, conditions, images, owner references, service accounts) and
// status-only updates; two agents for node-1 with the memory nftables follow the store, and
// after every write their tables must be equal, dumped in canonical order.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Agent } from "../../src/agent/index.ts";
import { ApiClient } from "../../src/client/index.ts";
import {
  type Datastore,
  DatastoreError,
  DatastoreSource,
  openDatastore,
  type ResourceSource,
} from "../../src/datastore/index.ts";
import { type Resource, resourceKey, validResource } from "../../src/model/index.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { deriveResource, peerView, SelectorCache } from "../../src/policy/index.ts";
import { startServer } from "../../src/server/index.ts";
import { SNAPSHOT_PATH } from "../../src/server/store-wide.ts";
import { ChurnGenerator, prng, type Random } from "../engine/random-cluster.ts";
import { memoryAgent, tableText } from "./memory-agent.ts";

const SEQUENCES = Number(process.env.NODE_SCOPE_SEQUENCES ?? 12);
const STEPS = 30;
const NODE = "node-1";

const dir = mkdtempSync(join(tmpdir(), "microseg-node-scope-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const ACCOUNTS = ["default", "builder", "reader"];

/** A pod's account follows its address, so a status-only update keeps it. */
function accountOf(pod: Resource & { kind: "Pod" }): string {
  const last = Number(pod.status?.podIP?.split(".").at(-1) ?? 0);
  return ACCOUNTS[last % ACCOUNTS.length]!;
}

/** A pod as a cluster serves it: the generator's pod with what real pods carry besides. */
function noisy(pod: Resource & { kind: "Pod" }, restarts: number): Resource {
  const { metadata, spec, status } = pod;
  return validResource({
    ...pod,
    metadata: {
      ...metadata,
      annotations: { "kubectl.kubernetes.io/restartedAt": `t${restarts}` },
      managedFields: [{ manager: "kubelet", operation: "Update", fieldsV1: { "f:status": {} } }],
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u-1", controller: true },
      ],
    },
    spec: {
      ...spec,
      serviceAccountName: accountOf(pod),
      containers: spec.containers.map((c) => ({
        ...c,
        image: "registry.example/app:1.0",
        env: [{ name: "MODE", value: "prod" }],
      })),
      volumes: [{ name: "data", emptyDir: {} }],
    },
    status: {
      ...status,
      phase: "Running",
      ...(status?.podIP ? { podIPs: [{ ip: status.podIP }] } : {}),
      hostIP: "198.19.0.1",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "c", restartCount: restarts }],
    },
  });
}

type Change = { readonly upsert: Resource } | { readonly delete: Resource };

/** The generator's churn, dressed as a cluster's: noise, service accounts, status-only updates. */
class ClusterChurn {
  readonly #gen: ChurnGenerator;
  readonly #r: Random;
  #restarts = 0;
  readonly #held = new Map<string, Resource>();
  constructor(seed: number) {
    this.#r = prng(seed);
    this.#gen = new ChurnGenerator(prng(seed + 7919));
  }

  /** Upserts, and deletes of what is held (by object, so it can be named to the store). */
  next(): Change {
    const c = this.#next();
    if ("upsert" in c) this.#held.set(resourceKey(c.upsert), c.upsert);
    else this.#held.delete(resourceKey(c.delete));
    return c;
  }

  #next(): Change {
    const r = this.#r;
    const roll = r();
    const pods = [...this.#gen.live.values()].filter((x) => x.kind === "Pod");
    if (roll < 0.15 && pods.length > 0) {
      // A status-only change (a container restarted): nothing a peer view keeps.
      const pod = pick(r, pods) as Resource & { kind: "Pod" };
      return { upsert: noisy(pod, ++this.#restarts) };
    }
    if (roll < 0.19) {
      // Deny by service account: relabelling an account brings its pods into a peer set.
      return {
        upsert: validResource({
          apiVersion: "microseg.io/v1",
          kind: "GlobalNetworkPolicy",
          metadata: { name: "by-account" },
          spec: {
            order: 0,
            selector: "all()",
            ingress: [
              {
                action: pick(r, ["Deny", "Allow"]),
                protocol: "TCP",
                source: {
                  serviceAccounts:
                    r() < 0.5 ? { names: [pick(r, ACCOUNTS)] } : { selector: `app == "web"` },
                },
              },
            ],
          },
        }),
      };
    }
    if (roll < 0.25) {
      return {
        upsert: validResource({
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: {
            name: pick(r, ACCOUNTS),
            namespace: pick(r, ["ns-a", "ns-b", "ns-c"]),
            labels: r() < 0.6 ? { app: pick(r, ["web", "db", "api"]) } : {},
          },
        }),
      };
    }
    const e = this.#gen.next();
    if (e.type === "delete") {
      const held = this.#held.get(e.key);
      return held ? { delete: held } : this.#next();
    }
    const res = e.resource;
    return { upsert: res.kind === "Pod" ? noisy(res, this.#restarts) : res };
  }
}

/** Writes one change; the store may refuse it (a tier not there yet): then nothing changed. */
async function write(store: Datastore, change: Change): Promise<void> {
  try {
    if ("upsert" in change) {
      await store.apply([change.upsert]);
      return;
    }
    const { apiVersion, kind, metadata } = change.delete;
    await store.delete({
      kind: { apiVersion, kind },
      ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
      name: metadata.name,
    });
  } catch (e) {
    if (!(e instanceof DatastoreError)) throw e;
  }
}

class Follower {
  readonly nft = new MemoryNftables();
  readonly agent: Agent;
  #revision = 0;
  #waiter: { revision: number; resolve: () => void } | undefined;

  constructor(source: ResourceSource) {
    this.agent = memoryAgent(NODE, source, this.nft);
    this.agent.onStatus((s) => {
      this.#revision = s.revision;
      if (this.#waiter && s.revision >= this.#waiter.revision) this.#waiter.resolve();
    });
  }

  /** Resolves once the agent enforces `revision`, on its status event. */
  reached(revision: number): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`revision ${revision} not enforced`)),
        20_000,
      );
      this.#waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve();
        },
      };
    });
  }

  table(): Promise<string> {
    return tableText(this.nft);
  }
}

describe("node scoping", () => {
  it("a peer view derives the same endpoint as the whole pod", () => {
    const ctx = {
      cache: new SelectorCache(),
      namespaceLabels: () => ({ team: "t1" }),
      serviceAccountLabels: (_: string, name: string) => ({ sa: name }),
      nodeAddress: () => undefined,
      service: () => undefined,
    };
    for (let seed = 1; seed <= 200; seed++) {
      const churn = new ClusterChurn(seed);
      for (let i = 0; i < 20; i++) {
        const c = churn.next();
        if (!("upsert" in c) || c.upsert.kind !== "Pod") continue;
        const view = peerView(c.upsert, "node-elsewhere");
        assert.ok(JSON.stringify(view).length < JSON.stringify(c.upsert).length);
        assert.deepEqual(deriveResource(view, ctx), deriveResource(c.upsert, ctx));
      }
    }
    const own = validResource({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "n", annotations: { a: "b" } },
      spec: { nodeName: NODE, containers: [] },
    });
    assert.equal(peerView(own, NODE), own, "the node's own pods stay whole");
  });

  it(`${SEQUENCES} random sequences of ${STEPS} writes: scoped tables equal unscoped`, () =>
    sequences("store", async (store) => ({
      source: new DatastoreSource(store, { project: (r) => peerView(r, NODE) }),
      close: async () => {},
    })));

  it(`the same through the API server, peer views on the wire (peersOf)`, () =>
    sequences("api", async (store) => {
      const server = await startServer({ store, port: 0 });
      const client = new ApiClient({ server: server.url });
      return {
        source: new DatastoreSource(client.forNode(NODE), { project: (r) => peerView(r, NODE) }),
        close: () => server.close(),
      };
    }));

  it("the API serves other nodes' pods as views, the node's own whole; a bad node is a 400", async () => {
    const store = await openDatastore(`sqlite:${join(dir, "wire.db")}`);
    const server = await startServer({ store, port: 0 });
    try {
      const pod = (name: string, nodeName: string) =>
        validResource({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace: "ns-a", annotations: { note: "x" } },
          spec: { nodeName, containers: [{ name: "c", image: "i" }] },
          status: { podIP: "198.18.0.9" },
        });
      await store.apply([pod("mine", NODE), pod("theirs", "node-2")]);
      const client = new ApiClient({ server: server.url });
      const snap = await client.forNode(NODE).snapshot();
      const byName = new Map(snap.items.map((r) => [r.metadata.name, r]));
      assert.deepEqual(byName.get("mine")?.metadata.annotations, { note: "x" });
      assert.equal(byName.get("theirs")?.metadata.annotations, undefined);
      assert.ok(byName.get("theirs")?.metadata.resourceVersion, "a view keeps its revision");
      const bad = await fetch(
        `${server.url}${SNAPSHOT_PATH}?peersOf=${encodeURIComponent("Node 1")}`,
      );
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { message: string }).message, /peersOf/);
    } finally {
      await server.close();
      await store.close();
    }
  });
});

async function sequences(
  label: string,
  scopedOver: (store: Datastore) => Promise<{ source: DatastoreSource; close(): Promise<void> }>,
): Promise<void> {
  let skipped = 0;
  let peers = 0;
  for (let seq = 1; seq <= SEQUENCES; seq++) {
    const store = await openDatastore(`sqlite:${join(dir, `${label}-${seq}.db`)}`);
    const whole = new Follower(new DatastoreSource(store));
    const scopedTo = await scopedOver(store);
    const scopedSource = scopedTo.source;
    // What the scoped agent is given: remote pods must come as views, no-ops not at all.
    const watched = scopedSource.watch.bind(scopedSource);
    scopedSource.watch = (listener) =>
      watched({
        ...listener,
        onBatch: (b) => {
          if (b.events.length === 0) skipped++;
          for (const e of b.events) {
            if (e.type !== "upsert" || e.resource.kind !== "Pod") continue;
            if (e.resource.spec.nodeName === NODE) continue;
            peers++;
            assert.equal(e.resource.metadata.annotations, undefined, "a peer came whole");
          }
          listener.onBatch(b);
        },
      });
    const scoped = new Follower(scopedSource);
    await whole.agent.start();
    await scoped.agent.start();
    try {
      const churn = new ClusterChurn(seq);
      for (let step = 1; step <= STEPS; step++) {
        const change = churn.next();
        await write(store, change);
        const revision = await store.revision();
        await Promise.all([whole.reached(revision), scoped.reached(revision)]);
        const what =
          "upsert" in change ? resourceKey(change.upsert) : `delete ${resourceKey(change.delete)}`;
        const [a, b] = [await whole.table(), await scoped.table()];
        assert.ok(a === b, `sequence ${seq} step ${step} (${what}): tables differ\n${diff(a, b)}`);
      }
    } finally {
      await whole.agent.stop();
      await scoped.agent.stop();
      await scopedTo.close();
      await store.close();
    }
  }
  // The run must have exercised the scoping it checks.
  assert.ok(peers > 0, "no peer pod reached the scoped agent");
  assert.ok(skipped > 0, "no status-only change was held back");
}

function diff(a: string, b: string): string {
  const [x, y] = [new Set(a.split("\n")), new Set(b.split("\n"))];
  const only = (s: Set<string>, t: Set<string>, sign: string) =>
    [...s].filter((l) => !t.has(l)).map((l) => `${sign} ${l}`);
  return [...only(x, y, "-"), ...only(y, x, "+")].slice(0, 20).join("\n");
}
