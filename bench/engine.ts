// The incremental engine at cluster scale: cold start, per-event latency for pod create,
// delete, relabel and policy edit, delta sizes, peak memory, and the same churn handled by
// recomputing from scratch (a cold start per event) as the baseline ratio.
// `--node`: the engine as node-0's agent runs it (local endpoints only, every set its policies
// use), on the same cluster plus the dataplane bench's cluster-wide policy (so the node's sets
// hold cluster-wide membership, the heavy case), and the agent's memory per cluster pod: heap
// after forced collections with the engine and the nft renderer's state kept (the transaction
// dropped), against the same agent empty. The resources count: the agent holds them.

import { DEFAULT_ENFORCEMENT, NftRenderer } from "../src/dataplane/nftables/index.ts";
import type { Delta, ResourceEvent } from "../src/engine/index.ts";
import { Engine } from "../src/engine/index.ts";
import { type Resource, validResource } from "../src/model/index.ts";
import { buildWorld } from "../src/policy/index.ts";
import {
  BROAD_POLICIES,
  type ClusterShape,
  generateCluster,
  generatePod,
  generatePolicy,
} from "./cluster-gen.ts";
import {
  type BenchArgs,
  type BenchReport,
  intArg,
  median,
  memoryAfterGc,
  rng,
  summarize,
} from "./lib.ts";

const EVENTS_PER_KIND = 2_000;

function deltaSize(deltas: readonly Delta[]): number {
  let n = 0;
  for (const d of deltas)
    n += d.type === "set-members-added" || d.type === "set-members-removed" ? d.members.length : 1;
  return n;
}

/** Distinct selectors of all policies, subjects and rule peers, by canonical text. */
function countDistinctSelectors(resources: readonly Resource[]): number {
  const world = buildWorld(resources.filter((r) => r.kind !== "Pod"));
  const keys = new Set<string>();
  for (const tier of world.program.tiers) {
    for (const p of tier.policies) {
      keys.add(p.selector.key);
      for (const r of [...p.ingress, ...p.egress]) {
        for (const e of [r.source, r.destination]) {
          if (e.selector) keys.add(e.selector.key);
          if (e.notSelector) keys.add(e.notSelector.key);
        }
      }
    }
  }
  return keys.size;
}

const NODE = "node-0";

interface AgentMemory {
  engineMb: number;
  agentMb: number;
  renderMs: number;
}

/**
 * Heap after forced collections: the engine alone, then with a renderer that rendered its state
 * (what an agent keeps between batches; the transaction is dropped). Against `empty`, per pod.
 */
function agentMemory(engine: Engine, empty?: AgentMemory, pods = 1): AgentMemory {
  const engineMb = heapMbWith(engine);
  const renderer = new NftRenderer({
    ...DEFAULT_ENFORCEMENT,
    workloadInterfaces: ["wl*"],
    podInterfacePrefix: "wl",
  });
  const t0 = performance.now();
  renderer.full(engine.state());
  const renderMs = performance.now() - t0;
  const agentMb = heapMbWith(engine, renderer);
  if (!empty) return { engineMb, agentMb, renderMs };
  const perPod = (mb: number) => (mb * 1024) / pods;
  return {
    engineMb: perPod(engineMb - empty.engineMb),
    agentMb: perPod(agentMb - empty.agentMb),
    renderMs,
  };
}

/** The heap after gc; the arguments are what must stay alive (reachable) for the reading. */
function heapMbWith(..._alive: unknown[]): number {
  return memoryAfterGc().heapMb;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs from a bundle (bench/bundled.ts): the engine's CPU as the agent and server run it. */
export const bundled = true;

export default async function engineBench(args: BenchArgs): Promise<BenchReport> {
  const pods = intArg(args, "pods", 100_000);
  const policies = intArg(args, "policies", 10_000);
  const namespaces = intArg(args, "namespaces", Math.max(1, Math.round(pods / 100)));
  const shape: ClusterShape = { pods, policies, namespaces, seed: 1 };
  const node = args.node ? NODE : undefined;
  const newEngine = () => new Engine(node ? { node, podInterfacePrefix: "wl" } : {});
  // Before the resources exist: the agent holds them (validated, as from the watch) too.
  const empty = node ? agentMemory(newEngine()) : undefined;
  const resources = [
    ...generateCluster(shape),
    ...(node ? BROAD_POLICIES.map((p) => validResource(p)) : []),
  ];

  const coldStart = (): { engine: Engine; ms: number; cpuMs: number; deltas: Delta[] } => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const engine = newEngine();
    engine.ingest(resources.map((resource): ResourceEvent => ({ type: "upsert", resource })));
    const deltas = engine.flush();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    // User and system time of every thread (garbage collection runs on helpers too).
    return { engine, ms, cpuMs: (cpu.user + cpu.system) / 1000, deltas };
  };
  const cold = coldStart();
  const { engine } = cold;
  const memory = empty && agentMemory(engine, empty, pods);
  const state = engine.state();
  const distinctSelectors = countDistinctSelectors(resources);
  let members = 0;
  for (const s of state.sets.values()) members += s.members.size;

  const random = rng(99);
  const time = (events: ResourceEvent[]) => {
    const latencies: number[] = [];
    const sizes: number[] = [];
    for (const e of events) {
      const t0 = performance.now();
      engine.ingest(e);
      const deltas = engine.flush();
      latencies.push(performance.now() - t0);
      sizes.push(deltaSize(deltas));
    }
    return {
      ...summarize(latencies),
      meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      deltaP50: median(sizes),
      deltaMax: Math.max(...sizes),
    };
  };

  const created: Resource[] = [];
  const create = time(
    Array.from({ length: EVENTS_PER_KIND }, (_, i) => {
      const pod = generatePod(pods + i, shape, random) as Resource;
      created.push(pod);
      return { type: "upsert", resource: pod };
    }),
  );
  const relabel = time(
    Array.from({ length: EVENTS_PER_KIND }, () => {
      const i = Math.floor(random() * pods);
      const pod = generatePod(i, shape, rng(i)) as Resource & {
        metadata: { labels: Record<string, string> };
      };
      pod.metadata.labels = {
        ...pod.metadata.labels,
        app: `app-${Math.floor(random() * 5)}`,
        component: "worker",
      };
      return { type: "upsert", resource: pod };
    }),
  );
  const policyEdit = time(
    Array.from({ length: EVENTS_PER_KIND }, (_, k) => {
      const j = Math.floor(random() * policies);
      // A fresh random stream per edit: the same policy gets different rules each time.
      const p = generatePolicy(j, shape, rng(1_000_003 + k)) as Resource;
      return { type: "upsert", resource: p };
    }),
  );
  const remove = time(
    created.map((pod) => ({
      type: "delete",
      key: `core/Pod/${pod.metadata.namespace}/${pod.metadata.name}`,
    })),
  );
  // Peak before the baseline, which builds whole second engines beside this one.
  const peak = peakRssMb();
  const incrementalMean = (create.meanMs + remove.meanMs + relabel.meanMs + policyEdit.meanMs) / 4;
  // Recomputing from scratch handles each event with a full cold start of the same engine.
  const rebuilds = Array.from({ length: 2 }, () => coldStart().ms);
  const recomputeMs = median(rebuilds);
  const recomputeRatio = recomputeMs / incrementalMean;

  const row = (metric: string, value: number, unit = "ms", note?: string) => ({
    metric,
    value,
    unit,
    ...(note ? { note } : {}),
  });
  return {
    rows: [
      {
        metric: "cluster",
        value: `${pods} pods, ${namespaces} namespaces, ${policies} policies${node ? `, as ${node}'s agent, with a cluster-wide policy` : ""}`,
      },
      row(
        "distinct selectors",
        distinctSelectors,
        "",
        "subjects and rule peers, by canonical text",
      ),
      row("active address sets", state.sets.size, ""),
      row("set members", members, ""),
      row(
        "cold start",
        cold.ms,
        "ms",
        `${cold.deltas.length} deltas; CPU ${Math.round(cold.cpuMs)} ms; goal < 5,000 ms`,
      ),
      ...(memory
        ? [
            row(
              `${NODE} engine heap per cluster pod`,
              memory.engineMb,
              "KiB",
              "after gc, against the empty engine",
            ),
            row(
              `${NODE} agent heap per cluster pod`,
              memory.agentMb,
              "KiB",
              `engine and nft renderer state (full render ${Math.round(memory.renderMs)} ms); goal < 5 KiB`,
            ),
          ]
        : []),
      row("peak RSS", peak, "MB"),
      row(
        "pod create p50 / p99",
        create.p50,
        "ms",
        `p99 ${create.p99.toFixed(3)} ms, delta p50 ${create.deltaP50}`,
      ),
      row(
        "pod delete p50 / p99",
        remove.p50,
        "ms",
        `p99 ${remove.p99.toFixed(3)} ms, delta p50 ${remove.deltaP50}`,
      ),
      row(
        "relabel p50 / p99",
        relabel.p50,
        "ms",
        `p99 ${relabel.p99.toFixed(3)} ms, delta p50 ${relabel.deltaP50}`,
      ),
      row(
        "policy edit p50 / p99",
        policyEdit.p50,
        "ms",
        `p99 ${policyEdit.p99.toFixed(3)} ms, delta p50 ${policyEdit.deltaP50}`,
      ),
      row("from-scratch recompute per event", recomputeMs, "ms", "median cold start"),
      row("recompute / incremental", recomputeRatio, "x"),
    ],
    figures: {
      pods,
      namespaces,
      policies,
      distinctSelectors,
      setMembers: members,
      coldStartMs: Math.round(cold.ms),
      coldStartCpuMs: Math.round(cold.cpuMs),
      ...(memory
        ? {
            node: NODE,
            engineHeapKiBPerPod: Number(memory.engineMb.toFixed(2)),
            agentHeapKiBPerPod: Number(memory.agentMb.toFixed(2)),
            fullRenderMs: Math.round(memory.renderMs),
          }
        : {}),
      peakRssMb: Math.round(peak),
      podCreateP50Ms: create.p50,
      podCreateP99Ms: create.p99,
      podDeleteP50Ms: remove.p50,
      podDeleteP99Ms: remove.p99,
      relabelP50Ms: relabel.p50,
      relabelP99Ms: relabel.p99,
      policyEditP50Ms: policyEdit.p50,
      policyEditP99Ms: policyEdit.p99,
      deltaSizeP50PodCreate: create.deltaP50,
      deltaSizeMaxPolicyEdit: policyEdit.deltaMax,
      recomputeMs: Math.round(recomputeMs),
      recomputeRatio: Math.round(recomputeRatio),
    },
  };
}
