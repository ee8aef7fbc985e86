// The nftables dataplane in a real kernel, inside network namespaces this bench creates and
// deletes: full-table transactions (lines, bytes, apply time) of node-0's agent for generated
// clusters of 1k, 10k and 50k pods (plus one cluster-wide policy, so its sets grow with the
// cluster); the latency from a pod event (engine apply + flush + render + nft apply) to its
// set element being live; the new-connection rate through 1,000 policies against no ruleset
// (beside conntrack alone, conntrack with a source check, and the same table with one policy);
// and the address-pool baseline, the same cluster as an IP firewall with one rule per allowed
// address pair, beside microseg's table; and policy created to enforced (10 ms probes). Needs
// root.

import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  DEFAULT_ENFORCEMENT,
  learnRuleHandles,
  NftRenderer,
  policyChain,
} from "../src/dataplane/nftables/index.ts";
import type { PolicyId, ResourceEvent } from "../src/engine/index.ts";
import { Engine } from "../src/engine/index.ts";
import { podInterfaceName } from "../src/engine/workload-interface.ts";
import { resourceKey, validResource } from "../src/model/index.ts";
import { KernelNftables, Transaction } from "../src/nft/index.ts";
import { buildWorld } from "../src/policy/index.ts";
import { BROAD_POLICIES, generateCluster, podAddress } from "./cluster-gen.ts";
import { connectLoopScript } from "./connect-loop.ts";
import {
  type BenchArgs,
  type BenchReport,
  type BenchRow,
  intArg,
  median,
  medianInterval,
  memoryAfterGc,
  rng,
  summarize,
} from "./lib.ts";

const NODE = "node-0";
const POD_PREFIX = "wl";
/** `--chains-only`: the same tables without the verdict-map fast path (every SYN walks). */
const cfgOf = (args: BenchArgs) => ({
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [`${POD_PREFIX}*`],
  podInterfacePrefix: POD_PREFIX,
  verdictMaps: args["chains-only"] === undefined,
});
let cfg = cfgOf({});
/** Objects written here in code; validated by the model before the engine sees them. */
interface RawResource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}
const upserts = (rs: readonly RawResource[]): ResourceEvent[] =>
  rs.map((r) => ({ type: "upsert", resource: validResource(r) }));

const sh = (netns: string | undefined, cmd: string, ...args: string[]) =>
  execFileSync(netns ? "ip" : cmd, netns ? ["netns", "exec", netns, cmd, ...args] : args, {
    stdio: "pipe",
  }).toString();

function sizesArg(args: BenchArgs): number[] {
  const v = args.sizes;
  if (typeof v !== "string") return [1_000, 10_000, 50_000];
  return v.split(",").map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes: ${s} is not a positive integer`);
    return n;
  });
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

function tableSize(tx: Transaction): {
  lines: number;
  bytes: number;
  rules: number;
  elements: number;
} {
  let rules = 0;
  let elements = 0;
  for (const c of tx.commands) {
    if (c.verb !== "add") continue;
    if (c.object.kind === "rule") rules++;
    else if (c.object.kind === "element") elements += c.object.elements.length;
  }
  const text = tx.toString();
  return { lines: tx.size, bytes: Buffer.byteLength(text), rules, elements };
}

/**
 * A routed veth pod on the bench node, as in the lab: traffic between pods is forwarded. Its
 * node-side interface has the name the CNI plugin derives, which source validation expects.
 */
function addPod(node: string, pod: string, iface: string, ip: string): void {
  sh(undefined, "ip", "netns", "add", pod);
  sh(pod, "ip", "link", "set", "lo", "up");
  sh(node, "ip", "link", "add", iface, "type", "veth", "peer", "name", "eth0", "netns", pod);
  sh(node, "ip", "addr", "add", "198.19.251.1/32", "dev", iface);
  sh(node, "ip", "link", "set", iface, "up");
  sh(node, "ip", "route", "add", `${ip}/32`, "dev", iface);
  sh(pod, "ip", "addr", "add", `${ip}/32`, "dev", "eth0");
  sh(pod, "ip", "link", "set", "eth0", "up");
  sh(pod, "ip", "route", "add", "198.19.251.1/32", "dev", "eth0", "scope", "link");
  sh(pod, "ip", "route", "add", "default", "via", "198.19.251.1", "dev", "eth0");
}

/** Runs a node script in a netns (on one CPU when `cpu` is set); resolves with its first line. */
function runIn(netns: string, script: string, args: string[] = [], cpu?: number) {
  const node = [process.execPath, "-e", script, ...args];
  const argv = cpu === undefined ? node : ["taskset", "-c", String(cpu), ...node];
  const child = spawn("ip", ["netns", "exec", netns, ...argv], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`script in ${netns} exited ${code}`)));
  });
  return { child, line };
}

const SERVER = `require("node:net").createServer((s) => s.destroy()).listen(7000, () => console.log("up"));`;
const CLIENT = connectLoopScript(7000);

/**
 * Pod events on a node whose table holds `engine`'s state: new remote pods (set elements only)
 * and new local pods (an endpoint's chains and map elements too), copied from existing pods
 * (same namespace and labels, so the same sets) with fresh addresses. Each is one transaction,
 * timed until nft returns, when the kernel has committed it; every 10th is checked in the
 * kernel (`KernelNftables.hasElement`). The first WARMUP events of each kind are not timed: they are where the
 * process first runs the incremental paths (compiled on first use), which a running agent
 * has done long before.
 */
const WARMUP = 5;

async function podEvents(
  kernel: KernelNftables,
  engine: Engine,
  renderer: NftRenderer,
  resources: readonly RawResource[],
  events: number,
): Promise<{
  remote: number[];
  local: number[];
  commits: { remote: number[]; local: number[] };
  /** Commands of each local pod's transaction. */
  localCommands: number[];
  checked: number;
}> {
  const random = rng(5);
  const pods = resources.filter((r) => r.kind === "Pod");
  const members = new Set<string>();
  for (const set of engine.state().sets.values()) {
    if (set.spec.kind !== "addresses") continue;
    for (const m of set.members.values()) if (m.kind === "address") members.add(m.address.text);
  }
  const ipOf = (p: RawResource) => (p.status as { podIP: string }).podIP;
  const nodeOf = (p: RawResource) => (p.spec as { nodeName: string }).nodeName;
  const templates = {
    remote: pods.filter((p) => nodeOf(p) !== NODE && members.has(ipOf(p))),
    local: pods.filter((p) => nodeOf(p) === NODE),
  };
  const latency = { remote: [] as number[], local: [] as number[] };
  /** The commit alone (the rest of an event is the engine and the render). */
  const commits = { remote: [] as number[], local: [] as number[] };
  const localCommands: number[] = [];
  let checked = 0;
  for (let i = 0; i < events + 3 * WARMUP; i++) {
    const kind = i % 3 === 2 ? "local" : "remote";
    const timing = i >= 3 * WARMUP;
    const template = templates[kind][Math.floor(random() * templates[kind].length)]!;
    const ip = podAddress(resources.length + i);
    const pod: RawResource = {
      ...template,
      metadata: { ...template.metadata, name: `${template.metadata.name}-copy-${i}` },
      status: { podIP: ip, podIPs: [{ ip }] },
    };
    // An agent's events come from its watch, each on a turn of the event loop of its own, and
    // V8 runs the scavenge it schedules before the young generation fills on such a turn. Events
    // chained by promises alone never reach one, which put every scavenge inside an event.
    await nextTurn();
    const t = await timed(async () => {
      engine.ingest(upserts([pod]));
      const tx = renderer.update(engine.flush());
      const commit = await timed(() => kernel.run(tx));
      if (timing) commits[kind].push(commit.ms);
      return tx;
    });
    if (timing) latency[kind].push(t.ms);
    if (timing && kind === "local") localCommands.push(t.value.size);
    const el = t.value.commands.find(
      (c) => c.verb === "add" && c.object.kind === "element" && c.object.set.startsWith("a4-"),
    );
    if (i % 10 === 0 && el?.object.kind === "element") {
      // In this process, not `nft get element` in a child: forking this process (hundreds of
      // MB) left the next events paying its copy-on-write faults, which an agent never does.
      if (!(await kernel.hasElement("inet", "microseg", el.object.set, ip)))
        throw new Error(`${ip} is not in ${el.object.set} after its pod event`);
      checked++;
    }
  }
  return { ...latency, commits, localCommands, checked };
}

// A connect every 10 ms, each with its own 500 ms timeout, bounded in time: prints the wall
// clock of each connection that opened.
const PROBER = `
const net = require("node:net");
const [host, limitMs] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
const t0 = Date.now();
const tick = setInterval(() => {
  if (Date.now() - t0 > limitMs) { clearInterval(tick); setTimeout(() => process.exit(0), 600); return; }
  const s = net.connect(7000, host, () => { console.log(performance.timeOrigin + performance.now()); s.destroy(); });
  s.setTimeout(500, () => s.destroy());
  s.on("error", () => {});
}, 10);
console.log("probing");
`;

/** Creations timed in one mode of the renderer's chain updates. */
interface Enforced {
  /** Policy created to the first probe that connects. */
  latencies: number[];
  /** The creating transaction's commit alone. */
  commits: number[];
  /** Engine ingest and flush and the render of the create, before its commit. */
  renders: number[];
  /** From the commit's return to the first probe that connects (probe interval, handshake). */
  probes: number[];
}

/**
 * Policy created to enforced, as a user sees it: the policy that lets the client reach the
 * server is deleted (probes stop connecting), then created again, and the time from its
 * creation (engine ingest, render, transaction) to the first probe that connects is taken.
 * Rule handles are read after each commit as the agent does, so policy chains are edited in
 * place; the server's endpoint chain is another chain for other tiers (names.ts), so each
 * creation writes one with every policy's jump.
 */
async function policyToEnforced(
  kernel: KernelNftables,
  engine: Engine,
  allow: RawResource,
  client: string,
  samples: number,
): Promise<Enforced> {
  const prober = runIn(client, PROBER, ["198.19.250.2", String(samples * 2_000 + 5_000)]);
  await prober.line;
  let last = 0;
  /** Connects since the creation being timed: its latency is the first one's. */
  const connects: number[] = [];
  createInterface({ input: prober.child.stdout! }).on("line", (l) => {
    last = Number(l);
    connects.push(last);
  });
  const renderer = new NftRenderer(cfg);
  const now = () => performance.timeOrigin + performance.now();
  const apply = async (events: ResourceEvent[]) => {
    const t0 = now();
    engine.ingest(events);
    const tx = renderer.update(engine.flush());
    const t1 = now();
    await kernel.run(tx);
    const committed = now();
    await learnRuleHandles(kernel, cfg.table, renderer);
    return { renderMs: t1 - t0, commitMs: committed - t1, committed };
  };
  const waitFor = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`bench dataplane: ${what} within 5 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const out: Enforced = { latencies: [], commits: [], renders: [], probes: [] };
  try {
    const start = now();
    await kernel.run(renderer.full(engine.state()));
    await learnRuleHandles(kernel, cfg.table, renderer);
    await waitFor(() => last > start, "the client did not connect through the allowing policy");
    for (let i = 0; i < samples; i++) {
      await apply([{ type: "delete", key: resourceKey(validResource(allow)) }]);
      const removed = now();
      await new Promise((r) => setTimeout(r, 100));
      if (last > removed) throw new Error("bench dataplane: a probe connected after the delete");
      const created = now();
      connects.length = 0;
      const { renderMs, commitMs, committed } = await apply(upserts([allow]));
      // Not `last`: probes go on connecting while the handles are read after the commit.
      const first = () => connects.find((t) => t > created);
      await waitFor(() => first() !== undefined, "no probe connected after the policy was created");
      out.latencies.push(first()! - created);
      out.renders.push(renderMs);
      out.commits.push(commitMs);
      out.probes.push(first()! - committed);
    }
  } finally {
    prober.child.kill();
  }
  return out;
}

/** Where the creations' time went, and the split of the slowest one (the tail's cause). */
function enforcedSplit(e: Enforced) {
  const render = summarize(e.renders);
  const commit = summarize(e.commits);
  const probe = summarize(e.probes);
  const worst = e.latencies.indexOf(Math.max(...e.latencies));
  const f = (n: number | undefined) => (n ?? 0).toFixed(1);
  const note =
    `p50 ${f(render.p50)} / ${f(commit.p50)} / ${f(probe.p50)} ms, p99 ${f(render.p99)} / ${f(commit.p99)} / ${f(probe.p99)} ms; ` +
    `slowest ${f(e.latencies[worst])} ms = ${f(e.renders[worst])} + ${f(e.commits[worst])} + ${f(e.probes[worst])}`;
  return { render, commit, probe, note };
}

/**
 * Node-0's agent at the issue's scale (100k pods, 10k policies): cold start from an empty
 * engine to the first full ruleset rendered, and to it committed in the kernel; and the
 * agent's memory per cluster pod (heap and RSS after forced collections, engine and renderer
 * kept, the transaction dropped) against the same agent empty, its empty ruleset committed, in
 * this process. The first round is a fresh agent's (cold JIT); later rounds give the median.
 */
async function coldStart(kernel: KernelNftables, args: BenchArgs) {
  const pods = intArg(args, "cold-pods", 100_000);
  const policies = intArg(args, "cold-policies", 10_000);
  const rounds = intArg(args, "cold-rounds", 3);
  const shape = { pods, policies, namespaces: Math.max(1, Math.round(pods / 100)) };
  const rendered: number[] = [];
  const committed: number[] = [];
  /** CPU time of the process (user and system, every thread) of the first round's two stages. */
  const cpu: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1000;
  };
  let memory: { heap: number; rss: number; peakRss: number; elements: number } | undefined;
  for (let round = 0; round < rounds; round++) {
    const engine = new Engine({ node: NODE, podInterfacePrefix: POD_PREFIX });
    const renderer = new NftRenderer(cfg);
    await kernel.run(renderer.full(engine.state()));
    const empty = round === 0 ? memoryAfterGc() : undefined;
    // Generated (and validated, as the datastore watch does) outside the timed part.
    let events: ResourceEvent[] | undefined = [
      ...generateCluster(shape),
      ...BROAD_POLICIES.map(validResource),
    ].map((resource) => ({ type: "upsert", resource }));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    engine.ingest(events);
    engine.flush();
    let tx: Transaction | undefined = renderer.full(engine.state());
    rendered.push(performance.now() - t0);
    if (round === 0) cpu.push(cpuMs(c0));
    await kernel.run(tx);
    committed.push(performance.now() - t0);
    if (round === 0) cpu.push(cpuMs(c0));
    const elements = tableSize(tx).elements;
    events = undefined;
    tx = undefined;
    if (empty) {
      const loaded = memoryAfterGc();
      memory = {
        heap: ((loaded.heapMb - empty.heapMb) * 1024) / pods,
        rss: ((loaded.rssMb - empty.rssMb) * 1024) / pods,
        peakRss: process.resourceUsage().maxRSS / 1024,
        elements,
      };
    }
  }
  const m = memory!;
  const note = (xs: number[], cpuFirst: number) =>
    `first ${Math.round(xs[0]!)} ms (fresh agent; CPU ${Math.round(cpuFirst)} ms), median ${Math.round(median(xs))} ms of ${xs.length}; goal < 5,000 ms`;
  const rows: BenchRow[] = [
    {
      metric: `cold start, ${pods} pods, ${policies} policies: empty engine -> full ruleset rendered`,
      value: Math.round(rendered[0]!),
      unit: "ms",
      note: note(rendered, cpu[0]!),
    },
    {
      metric: "  ... -> committed to nftables in a netns",
      value: Math.round(committed[0]!),
      unit: "ms",
      note: `${note(committed, cpu[1]!)}; ${m.elements} elements`,
    },
    {
      metric: "  agent heap per cluster pod (after gc, against the empty agent)",
      value: Number(m.heap.toFixed(2)),
      unit: "KiB",
      note: "goal < 5 KiB",
    },
    {
      metric: "  agent RSS per cluster pod (after gc, against the empty agent)",
      value: Number(m.rss.toFixed(2)),
      unit: "KiB",
      note: `goal < 5 KiB; peak RSS ${Math.round(m.peakRss)} MB`,
    },
  ];
  const figures = {
    coldPods: pods,
    coldPolicies: policies,
    coldStartRenderedMs: Math.round(rendered[0]!),
    coldStartRenderedMedianMs: Math.round(median(rendered)),
    coldStartCommittedMs: Math.round(committed[0]!),
    coldStartCommittedMedianMs: Math.round(median(committed)),
    coldStartRenderedCpuMs: Math.round(cpu[0]!),
    coldStartCommittedCpuMs: Math.round(cpu[1]!),
    agentHeapKiBPerPod: Number(m.heap.toFixed(2)),
    agentRssKiBPerPod: Number(m.rss.toFixed(2)),
  };
  return { rows, figures };
}

/** Runs from a bundle (bench/bundled.ts): rendering and pod events as the agent runs them. */
export const bundled = true;

export default async function dataplaneBench(args: BenchArgs): Promise<BenchReport> {
  if (process.getuid?.() !== 0) throw new Error("bench dataplane needs root (network namespaces)");
  const sizes = sizesArg(args);
  cfg = cfgOf(args);
  const policies = intArg(args, "policies", 1_000);
  // A third of them local: 300 local events put their p99 on the 4th largest, not the 2nd.
  const eventsPerSize = intArg(args, "events", 900);
  const baselinePods = intArg(args, "baseline-pods", 1_000);
  const id = randomBytes(3).toString("hex");
  const node = `msxbench-${id}-node`;
  const client = `msxbench-${id}-client`;
  const server = `msxbench-${id}-server`;
  const created: string[] = [];
  const rows: BenchRow[] = [];
  const figures: Record<string, number | string> = { policies };
  let srv: ReturnType<typeof runIn> | undefined;
  try {
    for (const ns of [node]) {
      sh(undefined, "ip", "netns", "add", ns);
      created.push(ns);
    }
    sh(node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    const kernel = new KernelNftables({ netns: node, timeoutMs: 300_000 });

    // First, while the process is fresh: cold start and memory at the scale.
    if (args["cold-rounds"] !== "0") {
      const cold = await coldStart(kernel, args);
      rows.push(...cold.rows);
      Object.assign(figures, cold.figures);
    }
    if (args["cold-only"]) return { rows, figures };

    // Full tables for growing clusters, as node-0's agent renders them (every set a local pod's
    // policies use, chains for its own pods); then pod events against each.
    for (const pods of sizes) {
      const shape = { pods, policies, namespaces: Math.max(1, Math.round(pods / 100)) };
      const engine = new Engine({ node: NODE });
      const resources = [...generateCluster(shape), ...BROAD_POLICIES];
      const compute = await timed(() => {
        engine.ingest(upserts(resources));
        return engine.flush();
      });
      const renderer = new NftRenderer(cfg);
      const render = await timed(() => renderer.full(engine.state()));
      const size = tableSize(render.value);
      const apply = await timed(() => kernel.run(render.value));
      const again = await timed(() => kernel.run(new NftRenderer(cfg).full(engine.state())));
      rows.push({
        metric: `full table, ${pods} pods, ${policies} policies`,
        value: apply.ms,
        unit: "ms",
        note: `${size.lines} lines, ${(size.bytes / 1e6).toFixed(1)} MB, ${size.rules} rules, ${size.elements} elements; engine ${Math.round(compute.ms)} ms, render ${Math.round(render.ms)} ms, replace ${Math.round(again.ms)} ms`,
      });
      Object.assign(figures, {
        [`full${pods}Lines`]: size.lines,
        [`full${pods}Bytes`]: size.bytes,
        [`full${pods}Rules`]: size.rules,
        [`full${pods}Elements`]: size.elements,
        [`full${pods}ApplyMs`]: Math.round(apply.ms),
        [`full${pods}ReplaceMs`]: Math.round(again.ms),
        [`full${pods}EngineMs`]: Math.round(compute.ms),
      });
      const ev = await podEvents(kernel, engine, renderer, resources, eventsPerSize);
      const remote = summarize(ev.remote);
      const local = summarize(ev.local);
      rows.push({
        metric: `  pod event -> live, remote / local pod`,
        value: remote.p50,
        unit: "ms",
        note: `p50 ${remote.p50.toFixed(1)} / ${local.p50.toFixed(1)} ms, p99 ${remote.p99.toFixed(1)} / ${local.p99.toFixed(1)} ms; ${ev.remote.length + ev.local.length} events, ${ev.checked} checked live; a local pod's transaction ${median(ev.localCommands)} commands`,
      });
      Object.assign(figures, {
        [`event${pods}RemoteP50Ms`]: Number(remote.p50.toFixed(2)),
        [`event${pods}RemoteP99Ms`]: Number(remote.p99.toFixed(2)),
        [`event${pods}LocalP50Ms`]: Number(local.p50.toFixed(2)),
        [`event${pods}LocalP99Ms`]: Number(local.p99.toFixed(2)),
        [`event${pods}LocalCommitP50Ms`]: Number(summarize(ev.commits.local).p50.toFixed(2)),
        [`event${pods}LocalCommitP99Ms`]: Number(summarize(ev.commits.local).p99.toFixed(2)),
        [`event${pods}RemoteCommitP50Ms`]: Number(summarize(ev.commits.remote).p50.toFixed(2)),
        [`event${pods}LocalCommands`]: median(ev.localCommands),
      });
    }

    // `--events-only`: the full tables and pod events alone (the 50k size takes most of an hour
    // with what follows on a loaded machine).
    if (args["events-only"]) return { rows, figures };

    // New connections from a client pod to a server pod through the node, with 1,000
    // policies all selecting the server (only the last one allows the client: every SYN walks
    // every policy chain), against no table at all.
    for (const [ns, pod, ip] of [
      [client, "client", "198.19.250.1"],
      [server, "server", "198.19.250.2"],
    ] as const) {
      addPod(node, ns, podInterfaceName(POD_PREFIX, "bench", pod), ip);
      created.push(ns);
    }
    sh(client, "sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1");
    const benchPod = (name: string, ip: string, role: string): RawResource => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "bench", labels: { role } },
      spec: { nodeName: NODE, containers: [{ name: "c" }] },
      status: { podIP: ip },
    });
    const connPolicies: RawResource[] = Array.from({ length: policies }, (_, j) => ({
      apiVersion: "microseg.io/v1",
      kind: "GlobalNetworkPolicy",
      metadata: { name: `bench-${j}` },
      spec: {
        order: j,
        selector: "role == 'server'",
        types: ["Ingress"],
        ingress: [
          {
            action: "Allow",
            protocol: "TCP",
            source: { selector: j === policies - 1 ? "role == 'client'" : `role == 'peer-${j}'` },
            destination: { ports: [7000] },
          },
        ],
      },
    }));
    /** node-0's engine with the client, the server and `selecting` policies on the server. */
    const serverEngine = (selecting: RawResource[]) => {
      const engine = new Engine({ node: NODE, podInterfacePrefix: POD_PREFIX });
      engine.ingest(
        upserts([
          { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } },
          benchPod("client", "198.19.250.1", "client"),
          benchPod("server", "198.19.250.2", "server"),
          ...selecting,
        ]),
      );
      engine.flush();
      return engine;
    };
    const connEngine = serverEngine(connPolicies);
    // The server on CPU 1 and every client run on CPU 0: unpinned, where the scheduler put the
    // two processes (one CPU or two, moving or not) swung a run's rate by a tenth, more than
    // the ruleset costs. Pinned, a round's ratio varies by about 0.01.
    const pinned = availableParallelism() >= 2;
    srv = runIn(server, SERVER, [], pinned ? 1 : undefined);
    await srv.line;
    // Rounds of one run without a ruleset and one with it, back to back in this process, the
    // order swapped every round (so a load that rises or falls favours neither); the ratio is
    // the median of the rounds' ratios. The machine is shared: one pair of runs only compares
    // what ran in the same seconds.
    const rounds = intArg(args, "conn-rounds", 15);
    const conns = String(intArg(args, "conn-count", 6_000));
    const ruledTx = () => new NftRenderer(cfg).full(connEngine.state());
    // The same server selected by one policy only, the allowing one: the table of the
    // 1,000-policy run less 999 policy chains and identities, so the two rates show whether the
    // per-packet cost grows with the number of policies.
    const oneEngine = serverEngine([connPolicies[policies - 1]!]);
    const onePolicyTx = () => new NftRenderer(cfg).full(oneEngine.state());
    // Two more baselines. A table that only tracks connections (one `ct state` rule on
    // forward): what conntrack in the node's namespace costs, apart from microseg's chains. And
    // the floor of any table that meets this first bar: the same conntrack plus one
    // source check before it (the two pods' `interface . address` pairs accepted, anything else
    // from a workload interface dropped), with no policy at all.
    const benchTable = "inet msx-bench-ct";
    const trackingOnly = [
      `add table ${benchTable}`,
      `add chain ${benchTable} forward { type filter hook forward priority 0; policy accept; }`,
      `add rule ${benchTable} forward ct state established,related accept`,
    ];
    const sourcePairs = (["client", "server"] as const)
      .map((pod, i) => `${podInterfaceName(POD_PREFIX, "bench", pod)} . 198.19.250.${i + 1}`)
      .join(", ");
    const floor = [
      ...trackingOnly,
      `add set ${benchTable} src4 { type ifname . ipv4_addr; elements = { ${sourcePairs} }; }`,
      `add chain ${benchTable} prerouting { type filter hook prerouting priority -300; policy accept; }`,
      `add rule ${benchTable} prerouting meta iifname . ip saddr @src4 accept`,
      `add rule ${benchTable} prerouting meta iifname "${POD_PREFIX}*" drop`,
    ];
    const MODES = ["bare", "tracking", "floor", "onePolicy", "ruled"] as const;
    type ConnMode = (typeof MODES)[number];
    const inMicroseg = (mode: ConnMode) => mode === "ruled" || mode === "onePolicy";
    let installed: ConnMode = "ruled";
    const install = async (mode: ConnMode) => {
      if (mode === installed) return;
      if (inMicroseg(installed) && !inMicroseg(mode))
        sh(node, "nft", "delete", "table", "inet", "microseg");
      if (installed === "tracking" || installed === "floor")
        sh(node, "nft", "delete", "table", ...benchTable.split(" "));
      if (mode === "ruled") await kernel.run(ruledTx());
      if (mode === "onePolicy") await kernel.run(onePolicyTx());
      if (mode === "tracking") sh(node, "nft", trackingOnly.join("; "));
      if (mode === "floor") sh(node, "nft", floor.join("; "));
      installed = mode;
    };
    const connect = async (mode: ConnMode) => {
      await install(mode);
      const run = runIn(
        client,
        CLIENT,
        ["198.19.250.2", conns, "8000", "4"],
        pinned ? 0 : undefined,
      );
      const out = JSON.parse(await run.line) as { done: number; failed: number; ms: number };
      return { rate: out.done / (out.ms / 1000), ...out };
    };
    await kernel.run(ruledTx());
    await connect("bare"); // warm-up: the first run pays the client's and the stack's first use
    const connRuns: Array<Record<ConnMode, number> & { failed: number }> = [];
    const orders: ConnMode[][] = [[...MODES], [...MODES].reverse()];
    for (let round = 0; round < rounds; round++) {
      const got = new Map<ConnMode, Awaited<ReturnType<typeof connect>>>();
      for (const mode of orders[round % 2]!) got.set(mode, await connect(mode));
      const rate = (m: ConnMode) => got.get(m)!.rate;
      connRuns.push({
        ...(Object.fromEntries(MODES.map((m) => [m, rate(m)])) as Record<ConnMode, number>),
        failed: got.get("ruled")!.failed,
      });
    }
    await install("ruled");
    /** Each round's rate of `m` against no ruleset in the same round. */
    const ofBareEach = (m: ConnMode) => connRuns.map((p) => p[m] / p.bare);
    const ratios = ofBareEach("ruled").sort((a, b) => a - b);
    const bare = { rate: median(connRuns.map((p) => p.bare)) };
    const ruled = {
      rate: median(connRuns.map((p) => p.ruled)),
      failed: connRuns.reduce((n, p) => n + p.failed, 0),
    };
    const connRatio = median(ratios);
    const ofBare = (m: ConnMode) => median(ofBareEach(m));
    const trackingRatio = ofBare("tracking");
    const floorRatio = ofBare("floor");
    const onePolicyRatio = ofBare("onePolicy");
    // How sure the median is (15 rounds: the 4th to the 12th ratio), and what microseg costs
    // over the floor, paired within each round (the rounds' rates move together with the
    // machine; their difference moves less).
    const ratioInterval = medianInterval(ratios);
    const overFloor = connRuns.map((p) => (p.floor - p.ruled) / p.bare);
    const overFloorInterval = medianInterval(overFloor);
    const costOverFloor = median(overFloor);
    // The last policy's jump counts the SYNs that walked every policy chain before it.
    const last = policyChain(`GlobalNetworkPolicy//bench-${policies - 1}` as PolicyId, "ingress");
    const table = await kernel.read("inet", "microseg");
    const walked = table?.chains
      .flatMap((c) => c.rules)
      .find((r) => r.body.some((st) => st.kind === "jump" && st.chain === last))
      ?.body.find((st) => st.kind === "counter");
    const enforced = await policyToEnforced(
      kernel,
      connEngine,
      connPolicies[policies - 1]!,
      client,
      intArg(args, "policy-samples", 40),
    );
    srv.child.kill();
    const p2e = summarize(enforced.latencies);
    const commit = median(enforced.commits);
    const split = enforcedSplit(enforced);
    rows.push(
      {
        metric: "policy created -> enforced (first 10 ms probe that connects)",
        value: p2e.p50,
        unit: "ms",
        note: `p50 ${p2e.p50.toFixed(1)} ms, p99 ${p2e.p99.toFixed(1)} ms over ${enforced.latencies.length} creations; the creating commit alone: median ${commit.toFixed(1)} ms; goal p99 < 100 ms`,
      },
      {
        metric: "  ... engine+render / commit / commit to probe",
        value: split.render.p50,
        unit: "ms",
        note: split.note,
      },
    );
    Object.assign(figures, {
      policyToEnforcedP50Ms: Number(p2e.p50.toFixed(2)),
      policyToEnforcedP99Ms: Number(p2e.p99.toFixed(2)),
      policyCommitMs: Number(commit.toFixed(2)),
      policyRenderP99Ms: Number(split.render.p99.toFixed(2)),
      policyCommitP99Ms: Number(split.commit.p99.toFixed(2)),
      policyProbeP99Ms: Number(split.probe.p99.toFixed(2)),
    });
    rows.push(
      {
        metric: "new TCP connections/s, no ruleset",
        value: Math.round(bare.rate),
        unit: "conn/s",
        note: `median of ${rounds} runs of ${conns} connections, 4 loops${pinned ? ", client on CPU 0 and server on CPU 1" : ""}`,
      },
      {
        metric: `new TCP connections/s, ${policies} policies on the server`,
        value: Math.round(ruled.rate),
        unit: "conn/s",
        note: `median of ${rounds}, ${ruled.failed} failed in all; ratio ${connRatio.toFixed(3)} (median of the rounds' ratios, 95% interval ${ratioInterval.low.toFixed(3)}-${ratioInterval.high.toFixed(3)}, range ${ratios[0]!.toFixed(2)}-${ratios.at(-1)!.toFixed(2)}); ${walked?.kind === "counter" ? walked.packets : "?"} SYNs walked all ${policies} policy chains in the last run`,
      },
      {
        metric: "  ... a table that only tracks connections, against none",
        value: Number(trackingRatio.toFixed(3)),
        unit: "ratio",
        note: "median of the rounds' ratios: what conntrack alone costs of the rate",
      },
      {
        metric: "  ... conntrack and a source check before it (the floor), against none",
        value: Number(floorRatio.toFixed(3)),
        unit: "ratio",
        note: "median of the rounds' ratios: the least a table that validates sources costs",
      },
      {
        metric: "  ... what the table costs over the floor, of the rate with none",
        value: Number(costOverFloor.toFixed(4)),
        unit: "ratio",
        note: `median of the rounds' (floor - table) / none, 95% interval ${overFloorInterval.low.toFixed(4)}-${overFloorInterval.high.toFixed(4)}`,
      },
      {
        metric: "  ... microseg with 1 policy on the server, against none",
        value: Number(onePolicyRatio.toFixed(3)),
        unit: "ratio",
        note: `median of the rounds' ratios: against ${connRatio.toFixed(3)} with ${policies}`,
      },
    );
    Object.assign(figures, {
      connPerSecBare: Math.round(bare.rate),
      connPerSecRuleset: Math.round(ruled.rate),
      connRatio: Number(connRatio.toFixed(3)),
      connRatioMin: Number(ratios[0]!.toFixed(3)),
      connRatioMax: Number(ratios.at(-1)!.toFixed(3)),
      connRatioCi95Low: Number(ratioInterval.low.toFixed(3)),
      connRatioCi95High: Number(ratioInterval.high.toFixed(3)),
      connCostOverFloor: Number(costOverFloor.toFixed(4)),
      connRatioTrackingOnly: Number(trackingRatio.toFixed(3)),
      connRatioFloor: Number(floorRatio.toFixed(3)),
      connRatioOnePolicy: Number(onePolicyRatio.toFixed(3)),
      connRounds: rounds,
      connFailed: ruled.failed,
    });

    // The address-pool baseline: the firewall a node needs when rules name addresses, one
    // accept per allowed (source, destination) pair on 8080/TCP that touches the node's pods.
    const shape = {
      pods: baselinePods,
      policies: Math.max(1, Math.round(baselinePods / 10)),
      namespaces: Math.max(1, Math.round(baselinePods / 100)),
    };
    const resources = generateCluster(shape);
    const world = buildWorld(resources);
    const workloads = world.cluster.workloads();
    const pairs = await timed(() => {
      let global = 0;
      const local: Array<[string, string]> = [];
      for (const a of workloads) {
        const source = world.cluster.peerOf(a)!;
        for (const b of workloads) {
          if (a === b) continue;
          const destination = world.cluster.peerOf(b)!;
          if (
            !world.evaluator.evaluate({ source, destination, port: 8080, protocol: "TCP" }).allowed
          )
            continue;
          global++;
          if (a.node === NODE || b.node === NODE)
            local.push([a.addresses[0]!.text, b.addresses[0]!.text]);
        }
      }
      return { global, local };
    });
    const fw = new Transaction({ family: "inet", table: "ipfw" }).add({ kind: "table" }).add({
      kind: "chain",
      name: "forward",
      base: { type: "filter", hook: "forward", priority: 0, policy: "drop" },
    });
    for (const [s, d] of pairs.value.local) {
      fw.add({
        kind: "rule",
        chain: "forward",
        body: [
          {
            kind: "match",
            left: { kind: "payload", protocol: "ip", field: "saddr" },
            op: "==",
            right: s,
          },
          {
            kind: "match",
            left: { kind: "payload", protocol: "ip", field: "daddr" },
            op: "==",
            right: d,
          },
          { kind: "match", left: { kind: "meta", key: "l4proto" }, op: "==", right: "tcp" },
          {
            kind: "match",
            left: { kind: "payload", protocol: "th", field: "dport" },
            op: "==",
            right: 8080,
          },
          { kind: "accept" },
        ],
      });
    }
    const fwApply = await timed(() => kernel.run(fw));
    const fwSize = tableSize(fw);
    const msEngine = new Engine({ node: NODE });
    msEngine.ingest(upserts(generateCluster(shape)));
    msEngine.flush();
    const msTx = new NftRenderer(cfg).full(msEngine.state());
    const msSize = tableSize(msTx);
    const msApply = await timed(() => kernel.run(msTx));
    rows.push(
      {
        metric: `address-pool firewall, ${baselinePods} pods (${shape.policies} policies), 8080/TCP`,
        value: fwSize.rules,
        unit: "rules",
        note: `apply ${Math.round(fwApply.ms)} ms, ${(fwSize.bytes / 1e6).toFixed(1)} MB; ${pairs.value.global} allowed pairs cluster-wide; pairs computed in ${Math.round(pairs.ms)} ms`,
      },
      {
        metric: "microseg table, same cluster and node, every port",
        value: msSize.rules,
        unit: "rules",
        note: `+ ${msSize.elements} set elements; apply ${Math.round(msApply.ms)} ms, ${(msSize.bytes / 1e6).toFixed(1)} MB`,
      },
    );
    Object.assign(figures, {
      baselinePods,
      firewallRules: fwSize.rules,
      firewallApplyMs: Math.round(fwApply.ms),
      firewallPairsGlobal: pairs.value.global,
      microsegRules: msSize.rules,
      microsegElements: msSize.elements,
      microsegApplyMs: Math.round(msApply.ms),
    });
  } finally {
    srv?.child.kill();
    for (const ns of created.reverse()) {
      try {
        sh(undefined, "ip", "netns", "del", ns);
      } catch {
        // Already gone.
      }
    }
  }
  return { rows, figures };
}
