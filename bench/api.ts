// The control plane as a user meets it: the API server over a real SQLite file on loopback,
// 10,000 objects on 100 nodes (`--nodes`), every latency figure the median over `--rounds`
// rounds of that round's p50/p99, with the load average before and after.
//   apply     one 10,000-object set through POST /apply, against the store's own apply of the
//             same set in this process (the baseline); and one object per request
//   fan-out   100 watchers of every kind (the agents' watch) in a worker thread, latency from
//             the store's commit to each watcher's bytes arriving; baseline: one watcher; also
//             from the write's start (what a user sees) and the write's own acknowledgement
//   enforced  an agent following the API (as root: nftables in a network namespace made here;
//             otherwise MemoryNftables), latency from a write's start to the agent reporting
//             the write's revision in its table, and the nftables transaction within it
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Agent, jsonLogger } from "../src/agent/index.ts";
import { ApiClient, decodeWatchLine } from "../src/client/index.ts";
import { DEFAULT_ENFORCEMENT } from "../src/dataplane/nftables/index.ts";
import { type Datastore, DatastoreSource, openDatastore } from "../src/datastore/index.ts";
import { type Resource, validResource } from "../src/model/index.ts";
import { KernelNftables, MemoryNftables, type Nftables } from "../src/nft/index.ts";
import { startServer } from "../src/server/index.ts";
import type { Arrivals, WatchersInput } from "./api-watchers.ts";
import {
  type BenchArgs,
  type BenchReport,
  intArg,
  load1,
  median,
  medianTimeMs,
  nowMs,
  summarize,
} from "./lib.ts";

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

/** Epoch milliseconds, comparable across threads. */
const epochNow = () => performance.timeOrigin + nowMs();

interface FanOutRound {
  /** Per (write, watcher): from the commit, and from the write's start (what a user sees). */
  readonly fromCommit: number[];
  readonly fromStart: number[];
  readonly acknowledged: number[];
}

/**
 * Pods created from `first` on, one per write, each awaited until every watcher received it.
 * The commit's moment is when the store hands the change to its watchers: a watch of the
 * store itself in this process, registered before the server's, so it is called first.
 */
async function fanOut(
  client: ApiClient,
  store: Datastore,
  server: string,
  watchers: number,
  writes: number,
  first: number,
): Promise<FanOutRound> {
  const fromRevision = await client.revision();
  const committed = new Map<number, number>();
  const commits = store.watch(
    { fromRevision },
    {
      onEvent: (e) => {
        if (e.type !== "BOOKMARK") committed.set(e.revision, epochNow());
      },
      onError: () => undefined,
    },
  );
  // A worker does not inherit tsx's loader on Node 20: it registers it, then loads the module.
  const module = JSON.stringify(new URL("./api-watchers.ts", import.meta.url).href);
  const worker = new Worker(
    `import("tsx/esm/api").then(({ register }) => { register(); return import(${module}); });`,
    { eval: true, workerData: { server, fromRevision, watchers } satisfies WatchersInput },
  );
  // Waited for without spinning this loop, which serves the watchers.
  let next: (a: Arrivals) => void = () => undefined;
  worker.on("message", (a: Arrivals) => next(a));
  const round: FanOutRound = { fromCommit: [], fromStart: [], acknowledged: [] };
  const seenByAll = async (i: number) => {
    const arrivals = new Promise<Arrivals>((resolve) => {
      next = resolve;
    });
    const start = epochNow();
    const created = await client.create(pod(first + i));
    const revision = Number(created.metadata.resourceVersion);
    const a = await arrivals;
    if (a.revision !== revision)
      throw new Error(`bench api: ${a.revision} seen, ${revision} written`);
    const commit = committed.get(revision);
    if (commit === undefined) throw new Error(`bench api: commit of ${revision} not seen`);
    return { start, commit, ack: epochNow() - start, at: a.at };
  };
  try {
    // Every watcher connected: one write they all see.
    await seenByAll(0);
    for (let i = 1; i <= writes; i++) {
      const { start, commit, ack, at } = await seenByAll(i);
      round.acknowledged.push(ack);
      for (const t of at) {
        round.fromCommit.push(t - commit);
        round.fromStart.push(t - start);
      }
    }
  } finally {
    commits.stop();
    worker.postMessage("stop");
    await once(worker, "exit");
  }
  return round;
}

/** Median over rounds of each round's p50 and p99. */
function acrossRounds(rounds: readonly (readonly number[])[]): { p50: number; p99: number } {
  const each = rounds.map((r) => summarize(r));
  return { p50: median(each.map((s) => s.p50)), p99: median(each.map((s) => s.p99)) };
}

/**
 * Write to enforced: an agent follows the API on node `node`; each write is a pod on another
 * node joining a policy's peer set, timed from the write's start to the agent reporting the
 * write's revision in force, and the nftables transaction within it.
 */
async function enforcedRounds(
  client: ApiClient,
  node: string,
  rounds: number,
  writes: number,
  first: number,
): Promise<{ total: number[][]; nft: number[][]; localEndpoints: number }> {
  const root = process.getuid?.() === 0;
  let netns: string | undefined;
  let kernel: KernelNftables | undefined;
  let nft: Nftables = new MemoryNftables();
  if (root) {
    netns = `msxbench-${randomBytes(3).toString("hex")}`;
    execFileSync("ip", ["netns", "add", netns]);
    kernel = new KernelNftables({ netns });
    nft = kernel;
  }
  let nftMs = 0;
  const timed: Nftables = {
    run: async (tx) => {
      const t0 = nowMs();
      await nft.run(tx);
      nftMs += nowMs() - t0;
    },
    check: (tx) => nft.check(tx),
    read: (family, table) => nft.read(family, table),
  };
  const agent = new Agent({
    node,
    source: new DatastoreSource(client),
    nft: timed,
    enforcement: { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["wl*"] },
    log: jsonLogger({ level: "error" }),
    resyncIntervalMs: 0,
  });
  // Waited for on the agent's status event, not by polling: a polling loop on this thread
  // competes for the 2 cores with the libnftables worker thread it is timing (it made the
  // nftables share 10x what the same transaction takes in a quiet process).
  let enforcedRevision = 0;
  let waiting: { revision: number; resolve: () => void } | undefined;
  agent.onStatus((s) => {
    enforcedRevision = s.revision;
    if (waiting && enforcedRevision >= waiting.revision) waiting.resolve();
  });
  const enforced = (revision: number) =>
    new Promise<void>((resolve, reject) => {
      if (enforcedRevision >= revision) return resolve();
      const timer = setTimeout(() => reject(new Error("bench api: not enforced in 30 s")), 30_000);
      waiting = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          waiting = undefined;
          resolve();
        },
      };
    });
  const total: number[][] = [];
  const nftTimes: number[][] = [];
  try {
    await agent.start();
    await until(() => enforcedRevision >= 1, 300_000);
    for (let r = 0; r < rounds; r++) {
      const t: number[] = [];
      const n: number[] = [];
      for (let i = 0; i < writes; i++) {
        nftMs = 0;
        const start = nowMs();
        const created = await client.create(pod(first + r * writes + i, "elsewhere", "client"));
        const revision = Number(created.metadata.resourceVersion);
        await enforced(revision);
        t.push(nowMs() - start);
        n.push(nftMs);
      }
      total.push(t);
      nftTimes.push(n);
    }
    return { total, nft: nftTimes, localEndpoints: agent.status().endpoints };
  } finally {
    await agent.stop();
    await kernel?.close();
    if (netns) execFileSync("ip", ["netns", "del", netns]);
  }
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const objects = intArg(args, "objects", 10_000);
  const watchers = intArg(args, "watchers", 100);
  const writes = intArg(args, "writes", 100);
  const rounds = intArg(args, "rounds", 3);
  // Kubernetes' own limit is 110 pods per node: 100 nodes of 100 pods by default; `--nodes 1`
  // puts every pod on the agent's node (the nftables table then holds two chains per pod).
  const nodes = intArg(args, "nodes", 100);
  const loadBefore = load1();
  const dir = mkdtempSync(join(tmpdir(), "microseg-bench-api-"));
  const namespaces = Array.from({ length: 100 }, (_, i) => ns(`ns-${i}`));
  const set = [
    ...namespaces,
    ...Array.from({ length: objects - 100 }, (_, i) => pod(i, `n${i % nodes}`)),
  ];

  // Baseline: the store's own apply of the same set, in this process.
  const baseline = await openDatastore(`sqlite:${join(dir, "baseline.db")}`);
  let t0 = nowMs();
  await baseline.apply(set);
  const storeApplyMs = nowMs() - t0;
  await baseline.close();

  const store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
  const server = await startServer({ store, port: 0 });
  const client = new ApiClient({ server: server.url });
  try {
    t0 = nowMs();
    await client.applySet(set);
    const apiApplyMs = nowMs() - t0;

    const single = 200;
    t0 = nowMs();
    for (let i = 0; i < single; i++) await client.create(pod(objects + i));
    const singleMs = nowMs() - t0;

    // Fan-out, in rounds: one watcher (the baseline: the path without fan-out), then all of
    // them, in a thread of their own as agents are processes of their own.
    let next = objects + single;
    const one: FanOutRound[] = [];
    const many: FanOutRound[] = [];
    for (let r = 0; r < rounds; r++) {
      one.push(await fanOut(client, store, server.url, 1, writes, next));
      next += writes + 1;
      many.push(await fanOut(client, store, server.url, watchers, writes, next));
      next += writes + 1;
    }
    const fanout = acrossRounds(many.map((r) => r.fromCommit));
    const fanoutOne = acrossRounds(one.map((r) => r.fromCommit));
    const fanoutFromStart = acrossRounds(many.map((r) => r.fromStart));
    const acknowledged = acrossRounds(many.map((r) => r.acknowledged));
    // What each agent does with a line once it has it (on its own node, in parallel).
    const line = `${JSON.stringify({ type: "ADDED", object: await client.create(pod(next)) })}`;
    const decodeMs = medianTimeMs(2_000, () => decodeWatchLine(line, undefined, 0));

    // Write to enforced: pods on other nodes join the set of a policy selecting the agent's.
    await client.create(policy);
    const enforced = await enforcedRounds(client, "n0", rounds, writes, objects * 2);
    const total = acrossRounds(enforced.total);
    const inNft = acrossRounds(enforced.nft);
    const root = process.getuid?.() === 0;

    const loadAfter = load1();
    const round2 = (n: number) => Number(n.toFixed(2));
    const figures = {
      loadBefore,
      loadAfter,
      rounds,
      applyObjects: objects,
      applyApiMs: Math.round(apiApplyMs),
      applyApiObjectsPerS: Math.round(objects / (apiApplyMs / 1000)),
      applyStoreMs: Math.round(storeApplyMs),
      applyApiVsStore: round2(apiApplyMs / storeApplyMs),
      singleWritesPerS: Math.round(single / (singleMs / 1000)),
      fanoutWatchers: watchers,
      fanoutP50Ms: round2(fanout.p50),
      fanoutP99Ms: round2(fanout.p99),
      fanoutOneWatcherP50Ms: round2(fanoutOne.p50),
      fanoutOneWatcherP99Ms: round2(fanoutOne.p99),
      fanoutFromWriteStartP50Ms: round2(fanoutFromStart.p50),
      fanoutFromWriteStartP99Ms: round2(fanoutFromStart.p99),
      writeAcknowledgedP50Ms: round2(acknowledged.p50),
      writeAcknowledgedP99Ms: round2(acknowledged.p99),
      watchLineDecodeMs: Number(decodeMs.toFixed(3)),
      nodes,
      agentLocalEndpoints: enforced.localEndpoints,
      writeToEnforcedP50Ms: round2(total.p50),
      writeToEnforcedP99Ms: round2(total.p99),
      nftTransactionP50Ms: round2(inNft.p50),
      nftTransactionP99Ms: round2(inNft.p99),
      enforcedIn: root ? "kernel" : "memory",
    };
    const per = `median of ${rounds} rounds`;
    return {
      figures,
      rows: [
        { metric: "load average (1 min)", value: `${loadBefore} -> ${loadAfter}`, note: "2 cores" },
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
          note: `commit to bytes at each of ${watchers} watchers, ${per}`,
        },
        { metric: "watch fan-out p99", value: fanout.p99, unit: "ms", note: "goal < 10 ms" },
        {
          metric: "  one watcher p50",
          value: fanoutOne.p50,
          unit: "ms",
          note: "baseline: the same path without fan-out",
        },
        { metric: "  one watcher p99", value: fanoutOne.p99, unit: "ms" },
        {
          metric: "  from the write's start p50",
          value: fanoutFromStart.p50,
          unit: "ms",
          note: "request, validation, commit with fsync, fan-out",
        },
        { metric: "  from the write's start p99", value: fanoutFromStart.p99, unit: "ms" },
        {
          metric: "  write acknowledged p50",
          value: acknowledged.p50,
          unit: "ms",
          note: "until its response (fsync included)",
        },
        { metric: "  write acknowledged p99", value: acknowledged.p99, unit: "ms" },
        {
          metric: "  an agent decodes the line",
          value: decodeMs,
          unit: "ms",
          note: "per event, on each agent",
        },
        {
          metric: "write to enforced p50",
          value: total.p50,
          unit: "ms",
          note: `${figures.enforcedIn}, ${enforced.localEndpoints} endpoints on the node, ${per}`,
        },
        { metric: "write to enforced p99", value: total.p99, unit: "ms", note: "goal < 50 ms" },
        {
          metric: "  of which nftables p50",
          value: inNft.p50,
          unit: "ms",
          note: "the transaction (libnftables reads every chain first)",
        },
        { metric: "  of which nftables p99", value: inNft.p99, unit: "ms" },
      ],
    };
  } finally {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
