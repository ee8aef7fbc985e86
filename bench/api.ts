// The control plane as a user meets it: the API server over a real SQLite file on loopback.
//   apply     one 10,000-object set through POST /apply, against the store's own apply of the
//             same set in this process (the baseline); and one object per request
//   fan-out   100 watchers of every kind (the agents' watch) in a worker thread, latency from a
//             write's start to each watcher's event, p50/p99; baseline: the same watchers on the
//             server's event loop
//   enforced  an agent following the API (as root: nftables in a network namespace made here;
//             otherwise MemoryNftables), latency from a write's start to the agent reporting
//             the write's revision in its table, p50/p99
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Agent, jsonLogger } from "../src/agent/index.ts";
import { ApiClient } from "../src/client/index.ts";
import { DEFAULT_ENFORCEMENT } from "../src/dataplane/nftables/index.ts";
import { DatastoreSource, openDatastore } from "../src/datastore/index.ts";
import { type Resource, validResource } from "../src/model/index.ts";
import { KernelNftables, MemoryNftables, type Nftables } from "../src/nft/index.ts";
import { startServer } from "../src/server/index.ts";
import type { Arrivals, WatchersInput } from "./api-watchers.ts";
import { type BenchArgs, type BenchReport, intArg, nowMs, summarize } from "./lib.ts";

const ns = (name: string): Resource =>
  validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name } });

function pod(i: number, node = "n1", app = "web"): Resource {
  return validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}`, namespace: `ns-${i % 100}`, labels: { app } },
    spec: { nodeName: node, containers: [{ name: "c", ports: [{ containerPort: 80 }] }] },
    status: { phase: "Running", podIP: `198.18.${(i >> 8) & 255}.${i & 255}` },
  });
}

const policy: Resource = validResource({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "from-clients", namespace: "ns-0" },
  spec: {
    podSelector: { matchLabels: { app: "web" } },
    ingress: [
      { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "client" } } }] },
    ],
  },
});

async function until(done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("bench api: timed out");
    await new Promise((r) => setImmediate(r));
  }
}

/** Pods created from `first` on, one per write, each awaited until every watcher saw it. */
async function fanOut(
  client: ApiClient,
  server: string,
  watchers: number,
  writes: number,
  first: number,
): Promise<{ latencies: number[]; acknowledged: number[] }> {
  const fromRevision = await client.revision();
  // A worker does not inherit tsx's loader on Node 20: it registers it, then loads the module.
  const module = JSON.stringify(new URL("./api-watchers.ts", import.meta.url).href);
  const worker = new Worker(
    `import("tsx/esm/api").then(({ register }) => { register(); return import(${module}); });`,
    { eval: true, workerData: { server, fromRevision, watchers } satisfies WatchersInput },
  );
  // Waited for without spinning this loop, which serves the watchers.
  let next: (a: Arrivals) => void = () => undefined;
  worker.on("message", (a: Arrivals) => next(a));
  const acknowledged: number[] = [];
  const seenByAll = async (write: Promise<{ metadata: { resourceVersion?: string } }>) => {
    const arrivals = new Promise<Arrivals>((resolve) => {
      next = resolve;
    });
    const t0 = nowMs();
    const revision = Number((await write).metadata.resourceVersion);
    acknowledged.push(nowMs() - t0);
    const a = await arrivals;
    if (a.revision !== revision)
      throw new Error(`bench api: ${a.revision} seen, ${revision} written`);
    return a.at;
  };
  const latencies: number[] = [];
  try {
    // Every watcher connected: one write they all see.
    await seenByAll(client.create(pod(first)));
    for (let i = 1; i <= writes; i++) {
      const start = performance.timeOrigin + nowMs();
      for (const at of await seenByAll(client.create(pod(first + i)))) latencies.push(at - start);
    }
  } finally {
    worker.postMessage("stop");
    await once(worker, "exit");
  }
  return { latencies, acknowledged: acknowledged.slice(1) };
}

/** The same, with the watchers' decoding on the server's own event loop. */
async function fanOutSameLoop(
  client: ApiClient,
  watchers: number,
  writes: number,
  first: number,
): Promise<number[]> {
  const started = new Map<number, number>();
  const latencies: number[] = [];
  let received = 0;
  const from = await client.revision();
  const watches = Array.from({ length: watchers }, () =>
    client.watch(
      { fromRevision: from },
      {
        onEvent: (e) => {
          if (e.type === "BOOKMARK") return;
          const start = started.get(e.revision);
          if (start !== undefined) latencies.push(nowMs() - start);
          received++;
        },
        onError: () => undefined,
      },
    ),
  );
  await client.create(pod(first));
  await until(() => received >= watchers);
  received = 0;
  for (let i = 1; i <= writes; i++) {
    const start = nowMs();
    const created = await client.create(pod(first + i));
    started.set(Number(created.metadata.resourceVersion), start);
    await until(() => received >= watchers * i);
  }
  for (const w of watches) w.stop();
  return latencies;
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const objects = intArg(args, "objects", 10_000);
  const watchers = intArg(args, "watchers", 100);
  const writes = intArg(args, "writes", 100);
  const dir = mkdtempSync(join(tmpdir(), "microseg-bench-api-"));
  const namespaces = Array.from({ length: 100 }, (_, i) => ns(`ns-${i}`));
  const set = [...namespaces, ...Array.from({ length: objects - 100 }, (_, i) => pod(i))];

  // Baseline: the store's own apply of the same set, in this process.
  const baseline = await openDatastore(`sqlite:${join(dir, "baseline.db")}`);
  let t0 = nowMs();
  await baseline.apply(set);
  const storeApplyMs = nowMs() - t0;
  await baseline.close();

  const store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
  const server = await startServer({ store, port: 0 });
  const client = new ApiClient({ server: server.url });
  let netns: string | undefined;
  try {
    t0 = nowMs();
    await client.applySet(set);
    const apiApplyMs = nowMs() - t0;

    const single = 200;
    t0 = nowMs();
    for (let i = 0; i < single; i++) await client.create(pod(objects + i));
    const singleMs = nowMs() - t0;

    // Fan-out: every watcher sees every write; latency per (write, watcher), the watchers in
    // their own thread (as agents are processes of their own), and, as the baseline, on the
    // server's event loop.
    const fanned = await fanOut(client, server.url, watchers, writes, objects + single);
    const fanout = summarize(fanned.latencies);
    // The write itself (request, validation, commit with fsync) is inside every fan-out figure.
    const acknowledged = summarize(fanned.acknowledged);
    const sameLoop = summarize(
      await fanOutSameLoop(client, watchers, writes, objects + single + writes + 1),
    );

    // Write to enforced: an agent follows the API; pods on its node join a policy's set.
    const root = process.getuid?.() === 0;
    let nft: Nftables = new MemoryNftables();
    if (root) {
      netns = `msxbench-${randomBytes(3).toString("hex")}`;
      execFileSync("ip", ["netns", "add", netns]);
      nft = new KernelNftables({ netns });
    }
    await client.create(policy);
    const agent = new Agent({
      node: "n1",
      source: new DatastoreSource(client),
      nft,
      enforcement: { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["wl*"] },
      log: jsonLogger({ level: "error" }),
      resyncIntervalMs: 0,
    });
    let enforcedRevision = 0;
    agent.onStatus((s) => {
      enforcedRevision = s.revision;
    });
    await agent.start();
    await until(() => enforcedRevision >= 1, 120_000);
    const enforce: number[] = [];
    for (let i = 0; i < writes; i++) {
      const start = nowMs();
      const created = await client.create(pod(objects * 2 + i, "n2", "client"));
      const revision = Number(created.metadata.resourceVersion);
      await until(() => enforcedRevision >= revision);
      enforce.push(nowMs() - start);
    }
    await agent.stop();
    const enforced = summarize(enforce);

    const figures = {
      applyObjects: objects,
      applyApiMs: Math.round(apiApplyMs),
      applyApiObjectsPerS: Math.round(objects / (apiApplyMs / 1000)),
      applyStoreMs: Math.round(storeApplyMs),
      applyApiVsStore: Number((apiApplyMs / storeApplyMs).toFixed(2)),
      singleWritesPerS: Math.round(single / (singleMs / 1000)),
      fanoutWatchers: watchers,
      fanoutP50Ms: Number(fanout.p50.toFixed(2)),
      fanoutP99Ms: Number(fanout.p99.toFixed(2)),
      writeAcknowledgedP50Ms: Number(acknowledged.p50.toFixed(2)),
      writeAcknowledgedP99Ms: Number(acknowledged.p99.toFixed(2)),
      fanoutSameLoopP50Ms: Number(sameLoop.p50.toFixed(2)),
      fanoutSameLoopP99Ms: Number(sameLoop.p99.toFixed(2)),
      writeToEnforcedP50Ms: Number(enforced.p50.toFixed(2)),
      writeToEnforcedP99Ms: Number(enforced.p99.toFixed(2)),
      enforcedIn: root ? "kernel" : "memory",
    };
    return {
      figures,
      rows: [
        {
          metric: "apply one set via API",
          value: apiApplyMs,
          unit: "ms",
          note: `${objects} objects (goal < 2,000 ms)`,
        },
        {
          metric: "  same set, store alone",
          value: storeApplyMs,
          unit: "ms",
          note: `API/store ${figures.applyApiVsStore}x`,
        },
        { metric: "one object per request", value: figures.singleWritesPerS, unit: "objects/s" },
        {
          metric: "watch fan-out p50",
          value: fanout.p50,
          unit: "ms",
          note: `${watchers} watchers in a thread of their own`,
        },
        { metric: "watch fan-out p99", value: fanout.p99, unit: "ms", note: "goal < 10 ms" },
        {
          metric: "  of which the write, p50",
          value: acknowledged.p50,
          unit: "ms",
          note: "until its response (fsync included)",
        },
        { metric: "  of which the write, p99", value: acknowledged.p99, unit: "ms" },
        {
          metric: "  watchers on the server's loop p50",
          value: sameLoop.p50,
          unit: "ms",
          note: "baseline",
        },
        { metric: "  watchers on the server's loop p99", value: sameLoop.p99, unit: "ms" },
        {
          metric: "write to enforced p50",
          value: enforced.p50,
          unit: "ms",
          note: figures.enforcedIn,
        },
        { metric: "write to enforced p99", value: enforced.p99, unit: "ms", note: "goal < 50 ms" },
      ],
    };
  } finally {
    await server.close();
    await store.close();
    if (netns) execFileSync("ip", ["netns", "del", netns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
