// The Kubernetes datastore against an API double (kube-api-double.ts): no Kubernetes API server
// can run on this machine, so the double implements list and watch as the API server does,
// and the source reaches it through the official client (@kubernetes/client-node's KubeConfig
// and Watch), as it reaches a real cluster.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import type { SourceBatch, SourceError } from "../../src/datastore/index.ts";
import {
  KubernetesSource,
  type KubernetesSourceOptions,
  KubeTransport,
} from "../../src/datastore/kubernetes/index.ts";
import { desiredState } from "../../src/engine/desired.ts";
import { Engine } from "../../src/engine/graph.ts";
import { type Resource, resourceKey, validResources } from "../../src/model/index.ts";
import { cnpCorpusFiles, readCnpCase } from "../conformance/cnp-corpus.ts";
import {
  type CorpusCluster,
  type Resource as CorpusResource,
  clusterResources,
  corpusFiles,
  readCorpus,
} from "../corpus/corpus.ts";
import { netpolCaseSteps } from "../corpus/k8s-netpol.ts";
import { stateText } from "../engine/state.ts";
import { selfSignedCert } from "../tls-cert.ts";
import { type DoubleOptions, KubeApiDouble } from "./kube-api-double.ts";

const TOKEN = "k8s-lane-token";
const certDir = mkdtempSync(join(tmpdir(), "microseg-k8s-"));
const tls = selfSignedCert(certDir);
after(() => rmSync(certDir, { recursive: true, force: true }));

function apiDouble(opts: Partial<DoubleOptions> = {}): KubeApiDouble {
  return new KubeApiDouble({ token: TOKEN, tls, ...opts });
}

interface Case {
  readonly name: string;
  readonly resources: readonly Resource[];
}

/** Every cluster of the corpora: each step of each case, as the policy tests read them. */
function corpusCases(): Case[] {
  const out: Case[] = [];
  const add = (name: string, objs: readonly CorpusResource[]) =>
    out.push({ name, resources: validResources(objs) });
  for (const file of corpusFiles("k8s-netpol")) {
    for (const step of netpolCaseSteps(file))
      add(step.name, [...clusterResources(step.cluster), ...step.policies]);
  }
  for (const file of corpusFiles("anp")) {
    const c = readCorpus<{
      cluster: CorpusCluster;
      steps: { name: string; policies: CorpusResource[] }[];
    }>(file);
    for (const step of c.steps)
      add(`anp ${basename(file)} ${step.name}`, [...clusterResources(c.cluster), ...step.policies]);
  }
  for (const file of corpusFiles("policy-assistant")) {
    const c = readCorpus<{ cluster: CorpusCluster; policies: CorpusResource[] }>(file);
    add(`policy-assistant ${basename(file)}`, [...clusterResources(c.cluster), ...c.policies]);
  }
  for (const file of cnpCorpusFiles()) {
    for (const step of readCnpCase(file).steps)
      for (const part of step.parts) add(part.name, part.resources);
  }
  return out;
}

function kubeConfig(server: string, token = TOKEN): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: "double",
        server,
        caData: Buffer.from(tls.cert).toString("base64"),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: "agent", token }],
    contexts: [{ name: "double", cluster: "double", user: "agent" }],
    currentContext: "double",
  });
  return kc;
}

/** What an agent holds: the source's objects, fed through the engine into the memory dataplane. */
class Consumer {
  readonly objects = new Map<string, Resource>();
  readonly engine = new Engine();
  readonly dataplane = new MemoryDataplane();
  readonly batches: SourceBatch[] = [];
  readonly errors: SourceError[] = [];
  #waiters: (() => void)[] = [];

  load(resources: readonly Resource[]): void {
    for (const r of resources) this.objects.set(resourceKey(r), r);
    this.engine.ingest(resources.map((resource) => ({ type: "upsert" as const, resource })));
    this.dataplane.applyDeltas(this.engine.flush());
  }

  readonly listener = {
    onBatch: (b: SourceBatch) => {
      this.batches.push(b);
      for (const e of b.events) {
        if (e.type === "delete") this.objects.delete(e.key);
        else this.objects.set(resourceKey(e.resource), e.resource);
      }
      this.engine.ingest(b.events);
      this.dataplane.applyDeltas(this.engine.flush());
      this.#wake();
    },
    onError: (e: SourceError) => {
      this.errors.push(e);
      this.#wake();
    },
  };

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits for `cond` after each delivery, up to `ms` (a bound, not a sleep). */
  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** `Kind ns/name@resourceVersion` of each object: equal when the consumer caught up. */
function versions(
  objs: Iterable<{
    kind: string;
    metadata: {
      name: string;
      namespace?: string | undefined;
      resourceVersion?: string | undefined;
    };
  }>,
): string[] {
  return [...objs]
    .map(
      (o) =>
        `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}@${o.metadata.resourceVersion}`,
    )
    .sort();
}

function label(c: Consumer, r: Resource, name: string): string | undefined {
  return (c.objects.get(resourceKey(r))?.metadata.labels as Record<string, string> | undefined)?.[
    name
  ];
}

function source(url: string, opts: KubernetesSourceOptions = {}): KubernetesSource {
  return new KubernetesSource(new KubeTransport(kubeConfig(url)), {
    pageSize: 5,
    retryMs: { first: 20, max: 200 },
    ...opts,
  });
}

/** The object without what the server owns, to tell whether a write would change it. */
function written(o: { metadata: object }): string {
  const { resourceVersion: _r, uid: _u, ...meta } = o.metadata as Record<string, unknown>;
  return JSON.stringify({ ...o, metadata: meta });
}

/** Moves the double from what it holds to exactly `resources`, writing only what differs. */
function transition(double: KubeApiDouble, resources: readonly Resource[]): void {
  const want = new Map(resources.map((r) => [resourceKey(r), r]));
  const have = new Map<string, string>();
  for (const obj of double.objects().values()) {
    const key = resourceKey(obj);
    have.set(key, written(obj));
    if (!want.has(key))
      double.remove(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
  }
  for (const [key, r] of want) {
    if (have.get(key) !== written(r)) double.put(r as unknown as Record<string, unknown>);
  }
}

const cases = corpusCases();

describe("kubernetes datastore: the corpora's clusters through the API double", () => {
  const double = apiDouble({ bookmarkMs: 100 });
  let url = "";
  before(async () => {
    url = await double.start();
  });
  after(() => double.close());

  it("reads every corpus case", () => {
    assert.ok(cases.length >= 100, `only ${cases.length} corpus cases`);
  });

  it("a fresh list of each cluster gives the dataplane state of its files", async () => {
    let endpoints = 0;
    const api = new KubeTransport(kubeConfig(url));
    for (const c of cases) {
      transition(double, c.resources);
      const snap = await new KubernetesSource(api, { pageSize: 8 }).snapshot();
      const consumer = new Consumer();
      consumer.load(snap.resources);
      const want = desiredState(c.resources);
      endpoints += want.endpoints.size;
      assert.equal(stateText(consumer.dataplane.state()), stateText(want), c.name);
    }
    assert.ok(endpoints > cases.length, "the corpora's states have endpoints");
    assert.ok(
      double.requests.some((r) => r.includes("continue=")),
      "lists were read in pages",
    );
  });

  it("one watch following every cluster in turn gives each one's state", async () => {
    transition(double, []);
    const src = source(url);
    const consumer = new Consumer();
    consumer.load((await src.snapshot()).resources);
    const w = src.watch(consumer.listener);
    try {
      for (const c of cases) {
        transition(double, c.resources);
        const want = versions(double.objects().values());
        await consumer.until(
          () => versions(consumer.objects.values()).join() === want.join(),
          c.name,
        );
        assert.equal(
          stateText(consumer.dataplane.state()),
          stateText(desiredState(c.resources)),
          c.name,
        );
      }
      assert.deepEqual(consumer.errors, []);
    } finally {
      w.stop();
    }
  });
});

describe("kubernetes datastore: watch semantics", () => {
  const base = cases.find((c) => c.resources.length > 20) ?? cases[0]!;
  const pods = () => base.resources.filter((r) => r.kind === "Pod");

  it("a 410 on watch relists and passes on only the difference: no gap, no event lost", async () => {
    const double = apiDouble({ bookmarkMs: 60_000 });
    const url = await double.start();
    try {
      transition(double, base.resources);
      const src = source(url);
      const consumer = new Consumer();
      consumer.load((await src.snapshot()).resources);
      const w = src.watch(consumer.listener);
      try {
        // A change through the live watch first.
        const [p0, p1, p2] = pods();
        assert.ok(p0 && p1 && p2);
        double.put({
          ...p0,
          metadata: { ...p0.metadata, labels: { ...p0.metadata.labels, moved: "yes" } },
        });
        await consumer.until(() => label(consumer, p0, "moved") === "yes", "live change");
        const listsBefore = double.requests.filter((r) => !r.includes("watch=")).length;
        const batchesBefore = consumer.batches.length;
        // In one turn: the streams end, changes land while no one watches, and the history
        // of them is compacted away, so every re-watch from its old resourceVersion is 410.
        double.closeWatches();
        double.put({
          ...p1,
          metadata: { ...p1.metadata, labels: { ...p1.metadata.labels, gap: "1" } },
        });
        double.remove("v1", "Pod", p2.metadata.name, p2.metadata.namespace);
        const added = {
          ...p2,
          metadata: { ...p2.metadata, name: "new-in-the-gap" },
          status: { podIP: "10.244.9.9", podIPs: [{ ip: "10.244.9.9" }] },
        };
        double.put(added);
        double.compact();
        const want = versions(double.objects().values());
        await consumer.until(
          () => versions(consumer.objects.values()).join() === want.join(),
          "relist",
        );
        assert.ok(double.gone > 0, "the double served 410");
        assert.ok(
          double.requests.filter((r) => !r.includes("watch=")).length > listsBefore,
          "relisted",
        );
        // Only the three changes reached the consumer: no object vanished and came back.
        const after = consumer.batches.slice(batchesBefore).flatMap((b) => b.events);
        const keys = after
          .map((e) => (e.type === "delete" ? `-${e.key}` : `+${resourceKey(e.resource)}`))
          .sort();
        assert.deepEqual(
          keys,
          [`+${resourceKey(added)}`, `+${resourceKey(p1)}`, `-${resourceKey(p2)}`].sort(),
        );
        assert.equal(
          stateText(consumer.dataplane.state()),
          stateText(desiredState(validResources([...double.objects().values()]))),
        );
        // The watch goes on after the relist.
        double.remove("v1", "Pod", added.metadata.name, added.metadata.namespace);
        await consumer.until(() => !consumer.objects.has(resourceKey(added)), "watch after relist");
      } finally {
        w.stop();
      }
    } finally {
      await double.close();
    }
  });

  it("bookmarks move a quiet kind's resourceVersion, so its re-watch after a compaction is no 410", async () => {
    const double = apiDouble({ bookmarkMs: 50 });
    const url = await double.start();
    try {
      transition(double, base.resources);
      const src = source(url);
      const consumer = new Consumer();
      consumer.load((await src.snapshot()).resources);
      const w = src.watch(consumer.listener);
      try {
        const [p0] = pods();
        assert.ok(p0);
        // Only Pods change; the Node watch hears nothing but bookmarks.
        for (let i = 0; i < 5; i++)
          double.put({ ...p0, metadata: { ...p0.metadata, labels: { n: String(i) } } });
        const now = String(double.resourceVersion);
        await consumer.until(
          () => (double.bookmarksSent.get("/api/v1/nodes") ?? []).includes(now),
          "a bookmark at the latest resourceVersion",
        );
        await consumer.until(() => label(consumer, p0, "n") === "4", "pod changes");
        // Let the bookmark reach the client before the streams end.
        const seen = double.requests.length;
        await consumer.until(
          () => (double.bookmarksSent.get("/api/v1/nodes") ?? []).length >= 3,
          "more bookmarks",
        );
        double.compact();
        double.closeWatches();
        const nodes = () =>
          double.requests.slice(seen).filter((r) => r.startsWith("/api/v1/nodes?"));
        await consumer.until(() => nodes().length > 0, "the node re-watch");
        // Kinds whose first bookmark had not arrived yet may relist; the quiet Node kind, whose
        // bookmarks had, resumes from the bookmark's resourceVersion with no 410 and no list.
        const nodeRewatch = nodes()[0] ?? "";
        assert.match(nodeRewatch, /watch=true/);
        assert.ok(
          Number(/resourceVersion=(\d+)/.exec(nodeRewatch)?.[1]) >= Number(now),
          nodeRewatch,
        );
        assert.ok(!nodes().some((r) => r.includes("limit=")), "nodes were not relisted");
        assert.ok((nodeRewatch ?? "").includes("allowWatchBookmarks=true"));
      } finally {
        w.stop();
      }
    } finally {
      await double.close();
    }
  });

  it("a continue token that expired between pages restarts the list; the result is whole", async () => {
    const double = apiDouble();
    const url = await double.start();
    try {
      transition(double, base.resources);
      double.expireNextContinue();
      const snap = await source(url, { pageSize: 2 }).snapshot();
      assert.equal(double.gone, 1);
      assert.deepEqual(versions(snap.resources), versions(double.objects().values()));
    } finally {
      await double.close();
    }
  });

  it("an invalid object fails the list naming the object and the field; a bad token is refused", async () => {
    const double = apiDouble();
    const url = await double.start();
    try {
      transition(double, base.resources);
      double.put({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "broken", namespace: "default" },
        spec: { podSelector: {}, policyTypes: ["Sideways"] },
      });
      await assert.rejects(source(url).snapshot(), (e: SourceError) => {
        assert.match(e.message, /NetworkPolicy default\/broken/);
        assert.ok(
          e.details.some((d) => d.includes("spec.policyTypes")),
          e.details.join("; "),
        );
        return true;
      });
      const stranger = new KubernetesSource(new KubeTransport(kubeConfig(url, "wrong")));
      await assert.rejects(stranger.snapshot(), /Unauthorized/);
    } finally {
      await double.close();
    }
  });
});
