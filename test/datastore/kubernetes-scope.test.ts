// Node scoping on the Kubernetes datastore: an agent for node-a on `--datastore kubernetes`
// watches every pod (as Felix does without Typha) but keeps node-b's pods as peer views, so it
// holds none of what they carry besides (managedFields, annotations, conditions, images), an
// update of one that leaves its view as it was never reaches the engine, and its table is the
// one an agent holding everything whole computes. Against the API double (kube-api-double.ts:
// no Kubernetes API server can run here), through the official client, with real agents on
// the memory nftables.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import type { Agent } from "../../src/agent/index.ts";
import type { ResourceSource, SourceBatch } from "../../src/datastore/index.ts";
import { KubernetesSource, KubeTransport } from "../../src/datastore/kubernetes/index.ts";
import { type Resource, resourceKey } from "../../src/model/index.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { peerView } from "../../src/policy/index.ts";
import { memoryAgent, tableText } from "../agent/memory-agent.ts";
import { selfSignedCert } from "../tls-cert.ts";
import { KubeApiDouble } from "./kube-api-double.ts";

const TOKEN = "k8s-scope-token";
const NODE = "node-a";
const certDir = mkdtempSync(join(tmpdir(), "microseg-k8s-scope-"));
const tls = selfSignedCert(certDir);
after(() => rmSync(certDir, { recursive: true, force: true }));

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "double", server, caData: Buffer.from(tls.cert).toString("base64") }],
    users: [{ name: "agent", token: TOKEN }],
    contexts: [{ name: "double", cluster: "double", user: "agent" }],
    currentContext: "double",
  });
  return kc;
}

/** A pod as a cluster serves it: what policy reads, and the rest a kubelet writes. */
function pod(
  name: string,
  namespace: string,
  node: string,
  app: string,
  ip: string,
  restarts = 0,
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { app, "pod-template-hash": "5d8f7c" },
      annotations: { "kubectl.kubernetes.io/restartedAt": `t${restarts}` },
      managedFields: [{ manager: "kubelet", operation: "Update", fieldsV1: { "f:status": {} } }],
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${app}-rs`,
          uid: "u",
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: node,
      serviceAccountName: "default",
      containers: [
        {
          name: "c",
          image: "registry.example/app:1.0",
          ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
        },
      ],
    },
    status: {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: node === NODE ? "198.19.0.1" : "198.19.0.2",
      conditions: [{ type: "Ready", status: restarts % 2 === 0 ? "True" : "False" }],
      containerStatuses: [{ name: "c", restartCount: restarts }],
    },
  };
}

const CLUSTER: Record<string, unknown>[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { team: "t1" } } },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "ops", labels: { team: "t2" } } },
  // node-a's workload: web, open to clients (an Allow) and closed to db (a Deny before it).
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web-from-clients", namespace: "shop" },
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [
        { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "client" } } }] },
      ],
    },
  },
  {
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name: "no-db-to-web" },
    spec: {
      order: 10,
      selector: "app == 'web'",
      ingress: [{ action: "Deny", source: { selector: "app == 'db'" } }, { action: "Pass" }],
    },
  },
  pod("web-a", "shop", NODE, "web", "198.18.0.10"),
  // node-b: a client and a db (peers node-a's policies need), and a pod no policy names.
  pod("client-b", "ops", "node-b", "client", "198.18.0.20"),
  pod("db-b", "shop", "node-b", "db", "198.18.0.21"),
  pod("batch-b", "ops", "node-b", "batch", "198.18.0.22"),
];

const keyOf = (name: string, namespace: string) => resourceKey(peerOf(name, namespace));
const peerOf = (name: string, namespace: string) =>
  ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace } }) as Resource;

/** An agent for node-a following one source, and what the source gave it. */
class NodeAgent {
  readonly nft = new MemoryNftables();
  readonly agent: Agent;
  /** What the agent was given last, by key. */
  readonly held = new Map<string, Resource>();
  /** Events received per key. */
  readonly received = new Map<string, number>();
  #revision = 0;
  /** The revision of the last batch the source gave. */
  #given = 0;
  #waiters: (() => void)[] = [];

  constructor(source: ResourceSource) {
    this.agent = memoryAgent(NODE, this.#tap(source), this.nft);
    this.agent.onStatus((s) => {
      this.#revision = s.revision;
      this.#wake();
    });
  }

  #tap(source: ResourceSource): ResourceSource {
    return {
      snapshot: async () => {
        const snap = await source.snapshot();
        for (const r of snap.resources) this.held.set(resourceKey(r), r);
        return snap;
      },
      watch: (listener) =>
        source.watch({
          onError: (e) => listener.onError(e),
          onBatch: (b: SourceBatch) => {
            for (const e of b.events) {
              const key = e.type === "delete" ? e.key : resourceKey(e.resource);
              this.received.set(key, (this.received.get(key) ?? 0) + 1);
              if (e.type === "delete") this.held.delete(key);
              else this.held.set(key, e.resource);
            }
            this.#given = b.revision;
            listener.onBatch(b);
            this.#wake();
          },
        }),
    };
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits (bounded, woken by deliveries and statuses) until `cond` holds. */
  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`${what}: not reached in ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Waits until the agent enforces everything up to the marker `step` on its own pod: pod
   * events come in one ordered stream, so every earlier pod write has then been taken in (or
   * dropped as unchanged).
   */
  async caughtUp(step: number): Promise<void> {
    const web = keyOf("web-a", "shop");
    await this.until(
      () => this.held.get(web)?.metadata.annotations?.step === String(step),
      `marker ${step}`,
    );
    const revision = this.#given;
    await this.until(() => this.#revision >= revision, `revision ${revision} enforced`);
  }

  count(name: string, namespace: string): number {
    return this.received.get(keyOf(name, namespace)) ?? 0;
  }

  table(): Promise<string> {
    return tableText(this.nft);
  }
}

describe("Kubernetes datastore, node-scoped agent", () => {
  it("holds other nodes' pods as views, drops their unchanged updates, enforces as a whole agent", async () => {
    const double = new KubeApiDouble({ token: TOKEN, tls, bookmarkMs: 200 });
    const url = await double.start();
    for (const o of CLUSTER) double.put(o);
    const source = (scoped: boolean) =>
      new KubernetesSource(new KubeTransport(kubeConfig(url)), {
        pageSize: 3,
        retryMs: { first: 20, max: 200 },
        ...(scoped ? { project: (r: Resource) => peerView(r, NODE) } : {}),
      });
    const whole = new NodeAgent(source(false));
    const scoped = new NodeAgent(source(true));
    let step = 0;
    const mark = async () => {
      step++;
      const web = pod("web-a", "shop", NODE, "web", "198.18.0.10");
      const meta = web.metadata as { annotations: Record<string, string> };
      meta.annotations = { ...meta.annotations, step: String(step) };
      double.put(web);
      await Promise.all([whole.caughtUp(step), scoped.caughtUp(step)]);
    };
    const same = async (when: string) => {
      const [a, b] = [await whole.table(), await scoped.table()];
      assert.ok(a === b, `${when}: the scoped agent's table differs from the whole agent's`);
      return b;
    };
    try {
      await whole.agent.start();
      await scoped.agent.start();
      await mark();

      // What it holds: its own pod whole, node-b's pods (all of them) as views.
      const own = scoped.held.get(keyOf("web-a", "shop"));
      assert.ok(own?.kind === "Pod" && own.metadata.managedFields, "the node's own pod is whole");
      for (const [name, ns] of [
        ["client-b", "ops"],
        ["db-b", "shop"],
        ["batch-b", "ops"],
      ] as const) {
        const p = scoped.held.get(keyOf(name, ns));
        assert.ok(p?.kind === "Pod", `${ns}/${name}: a peer must be held (a Deny may name it)`);
        assert.equal(p.metadata.annotations, undefined, `${ns}/${name}: annotations held`);
        assert.equal(p.metadata.managedFields, undefined, `${ns}/${name}: managedFields held`);
        assert.equal(p.status?.conditions, undefined, `${ns}/${name}: conditions held`);
        assert.equal(p.spec.containers[0]?.image, undefined, `${ns}/${name}: image held`);
        assert.ok(whole.held.get(keyOf(name, ns))?.metadata.managedFields, "the whole agent");
        assert.ok(
          JSON.stringify(p).length < JSON.stringify(whole.held.get(keyOf(name, ns))).length,
          `${ns}/${name}: the view is not smaller than the pod`,
        );
      }
      // The peers its policies need are in its table: the client's (Allow) and the db's (Deny).
      const table = await same("start");
      assert.match(table, /198\.18\.0\.20/, "the client's address (an Allow's peer)");
      assert.match(table, /198\.18\.0\.21/, "the db's address (a Deny's peer)");

      // Status-only updates of node-b's pods (restarts, readiness, annotations) never reach the
      // scoped agent's engine; the whole agent takes every one in.
      const before = {
        whole: whole.count("client-b", "ops"),
        scoped: scoped.count("client-b", "ops"),
      };
      const dbBefore = scoped.count("db-b", "shop");
      for (let restarts = 1; restarts <= 5; restarts++) {
        double.put(pod("client-b", "ops", "node-b", "client", "198.18.0.20", restarts));
        double.put(pod("db-b", "shop", "node-b", "db", "198.18.0.21", restarts));
      }
      await mark();
      assert.equal(whole.count("client-b", "ops") - before.whole, 5, "whole: every update");
      assert.equal(
        scoped.count("client-b", "ops") - before.scoped,
        0,
        "scoped: a status-only update came through",
      );
      assert.equal(
        scoped.count("db-b", "shop") - dbBefore,
        0,
        "scoped: a status-only update came through",
      );
      await same("after status-only updates");

      // A change the view keeps does come: the db relabelled out of the Deny's peers.
      double.put(pod("db-b", "shop", "node-b", "cache", "198.18.0.21", 6));
      await mark();
      assert.equal(scoped.count("db-b", "shop") - dbBefore, 1, "a relabel must reach the agent");
      assert.doesNotMatch(await same("after the relabel"), /198\.18\.0\.21/);

      // A new peer on node-b joins the Allow's set.
      double.put(pod("client-b2", "shop", "node-b", "client", "198.18.0.23"));
      await mark();
      assert.match(await same("after a new client"), /198\.18\.0\.23/);

      // 410: while the pods' watches are down, a status-only update and a relabel, and the
      // history compacted; the relist passes on only what changed in the views.
      const cBefore = scoped.count("client-b", "ops");
      const bBefore = scoped.count("batch-b", "ops");
      double.closeWatches();
      double.put(pod("client-b", "ops", "node-b", "client", "198.18.0.20", 7));
      double.put(pod("batch-b", "ops", "node-b", "db", "198.18.0.22", 7));
      double.compact();
      await mark();
      assert.ok(double.gone > 0, "the watch must have been answered 410");
      assert.equal(
        scoped.count("client-b", "ops"),
        cBefore,
        "relist: an unchanged view was passed on",
      );
      assert.equal(scoped.count("batch-b", "ops"), bBefore + 1, "relist: the relabel was lost");
      assert.match(await same("after the relist"), /198\.18\.0\.22/, "batch-b is now a db peer");
    } finally {
      await whole.agent.stop();
      await scoped.agent.stop();
      await double.close();
    }
  });
});
