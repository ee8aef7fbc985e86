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
  collectionPath,
  KubernetesSource,
  type KubernetesSourceOptions,
  KubeTransport,
  WATCHED_KINDS,
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

interface Following {
  readonly double: KubeApiDouble;
  readonly consumer: Consumer;
}

/**
 * A double holding `resources`, a source on it with its snapshot loaded into a consumer and its
 * watch running; `body` drives them. The watch is stopped and the double closed also on failure.
 */
async function following(
  resources: readonly Resource[],
  opts: { readonly double?: Partial<DoubleOptions>; readonly source?: KubernetesSourceOptions },
  body: (f: Following) => Promise<void>,
): Promise<void> {
  const double = apiDouble(opts.double);
  const url = await double.start();
  try {
    transition(double, resources);
    const src = source(url, opts.source);
    const consumer = new Consumer();
    consumer.load((await src.snapshot()).resources);
    const w = src.watch(consumer.listener);
    try {
      await body({ double, consumer });
    } finally {
      w.stop();
    }
  } finally {
    await double.close();
  }
}

/** The requests after the first `from`, that are lists (not watches) of `path`. */
function listsOf(double: KubeApiDouble, path: string, from: number): string[] {
  return double.requests
    .slice(from)
    .filter((r) => r.startsWith(`${path}?`) && !/[?&]watch=/.test(r));
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
    await following(
      base.resources,
      { double: { bookmarkMs: 60_000 } },
      async ({ double, consumer }) => {
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
      },
    );
  });

  it("bookmarks move a quiet kind's resourceVersion, so its re-watch after a compaction is no 410", async () => {
    await following(
      base.resources,
      { double: { bookmarkMs: 50 } },
      async ({ double, consumer }) => {
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
      },
    );
  });

  // The watch's ends, each through the real client. The bounds of the waits (15 s) are far
  // below the ~60 s a reconnect waiting on a socket timeout would take, so such a delay fails.
  const PODS = "/api/v1/pods";
  const promptly = 15_000;
  /** Relabels the first pod and waits until the consumer has it: the watch is live. */
  const change = async (double: KubeApiDouble, consumer: Consumer, value: string) => {
    const [p0] = pods();
    assert.ok(p0);
    double.put({ ...p0, metadata: { ...p0.metadata, labels: { step: value } } });
    await consumer.until(() => label(consumer, p0, "step") === value, `change ${value}`, promptly);
  };
  /** The resourceVersion each watch request of `path` after the first `from` asked for. */
  const rewatchVersions = (double: KubeApiDouble, path: string, from: number) =>
    double.requests
      .slice(from)
      .filter((r) => r.startsWith(`${path}?`) && /[?&]watch=/.test(r))
      .map((r) => /resourceVersion=(\d+)/.exec(r)?.[1]);
  // The source's own retry pacing (250 ms doubling to 5 s), not the fast one of other tests.
  const defaults = { source: { retryMs: { first: 250, max: 5_000 } } };

  it("a watch the server closes is reopened at once from the last resourceVersion, without a list", async () => {
    // Bookmarks every 100 ms: a stream closed after one is no empty stream (those back off).
    const opts = { ...defaults, double: { bookmarkMs: 100 } };
    await following(base.resources, opts, async ({ double, consumer }) => {
      const bookmarked = () => new Map([...double.bookmarksSent].map(([p, b]) => [p, b.length]));
      /** Every kind's stream, reopened or not, has had a bookmark since `then`. */
      const everyStreamBookmarked = (then: Map<string, number>) =>
        WATCHED_KINDS.every(
          (k) =>
            (double.bookmarksSent.get(collectionPath(k))?.length ?? 0) >
            (then.get(collectionPath(k)) ?? 0),
        );
      await change(double, consumer, "0");
      for (let i = 1; i <= 3; i++) {
        const marks = bookmarked();
        await consumer.until(() => everyStreamBookmarked(marks), `bookmarks ${i}`, promptly);
        const seen = double.requests.length;
        const rv = String(double.resourceVersion);
        double.closeWatches();
        await consumer.until(
          () => rewatchVersions(double, PODS, seen).length > 0,
          `pod re-watch ${i}`,
          promptly,
        );
        assert.equal(rewatchVersions(double, PODS, seen)[0], rv);
        await change(double, consumer, String(i));
        assert.deepEqual(listsOf(double, PODS, seen), [], "no relist after a close");
      }
      assert.deepEqual(
        consumer.errors.map((e) => e.message),
        [],
        "a close by the server is no error",
      );
    });
  });

  it("a watch cut mid-stream is reported and resumed from its last resourceVersion", async () => {
    await following(base.resources, defaults, async ({ double, consumer }) => {
      await change(double, consumer, "0");
      const seen = double.requests.length;
      const rv = String(double.resourceVersion);
      double.cutWatches();
      await change(double, consumer, "1");
      assert.ok(
        consumer.errors.some((e) => /^Pod watch failed/.test(e.message)),
        consumer.errors.map((e) => e.message).join("; "),
      );
      assert.equal(rewatchVersions(double, PODS, seen)[0], rv);
      assert.deepEqual(listsOf(double, PODS, seen), []);
    });
  });

  it("failing and empty watches are retried with backoff from the same resourceVersion; a 410 response relists", async () => {
    await following(base.resources, defaults, async ({ double, consumer }) => {
      await change(double, consumer, "0");
      const seen = double.requests.length;
      const rv = String(double.resourceVersion);
      double.failNextWatches(PODS, 2, 500);
      double.failNextWatches(PODS, 2, "empty");
      double.closeWatches();
      await change(double, consumer, "1");
      const pod = consumer.errors.map((e) => e.message).filter((m) => m.startsWith("Pod "));
      // Each failed and each empty stream went the backoff way, reported once: an empty
      // stream reopened at once would be no error, and would loop as fast as the server ends it.
      assert.equal(
        pod.filter((m) => /HTTP|Internal Server Error|500/.test(m)).length,
        2,
        pod.join("; "),
      );
      assert.equal(pod.filter((m) => /with nothing in it/.test(m)).length, 2, pod.join("; "));
      assert.deepEqual(rewatchVersions(double, PODS, seen), [rv, rv, rv, rv, rv]);
      assert.deepEqual(listsOf(double, PODS, seen), []);
      // A 410 as the watch's response (not as an ERROR event) relists that kind too.
      const before = double.requests.length;
      double.failNextWatches(PODS, 1, 410);
      double.closeWatches();
      await consumer.until(
        () => listsOf(double, PODS, before).length > 0,
        "a relist after a 410 response",
        promptly,
      );
      await change(double, consumer, "2");
    });
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
