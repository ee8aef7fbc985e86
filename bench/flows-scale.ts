// bench flows, the context at scale: the incremental FlowContext against the context that rebuilt
// its world per batch (bench/flow-context-rebuild.ts), both in this process, at each cluster size:
//   - per batch: 10 pod events (5 pods deleted, 5 new ones on fresh addresses), as the agent's
//     coalesced watch batches bring them; median over the batches;
//   - per flow: a FlowLog enriched against the context after that churn (no batch in between),
//     median of 5 rounds over the same records, the two contexts' rounds alternating;
//   - memory: heap after a forced gc with the context loaded, against the same process before it
//     was made (the resources themselves are held by the bench, not counted);
//   - the first load (every resource in one batch).
import { Enricher, FlowContext, type PacketLog, parseUlogdLine } from "../src/flows/index.ts";
import type { ResourceEvent } from "../src/model/index.ts";
import { type ClusterShape, generateCluster, generatePod, podAddress } from "./cluster-gen.ts";
import { RebuildingFlowContext } from "./flow-context-rebuild.ts";
import { flowLines, loggedPolicies } from "./flow-lines.ts";
import { type BenchRow, load1, median, memoryAfterGc, nowMs, rng } from "./lib.ts";

const BATCH_EVENTS = 10;
const RECORDS = 100_000;
/** podAddress reaches 131,072 addresses: new pods take the indices after the cluster's. */
const ADDRESS_LIMIT = 131_072;

interface Context {
  apply(events: readonly ResourceEvent[], time: number): unknown;
}

interface Measured {
  loadMs: number;
  batchMs: number;
  flowNs: number;
  heapMb: number;
}

export function contextScale(sizes: readonly number[]): {
  rows: BenchRow[];
  figures: Record<string, number>;
} {
  const rows: BenchRow[] = [];
  const figures: Record<string, number> = {};
  for (const pods of sizes) {
    if (pods + 2_000 > ADDRESS_LIMIT)
      throw new Error(`--scale-pods: at most ${ADDRESS_LIMIT - 2_000}`);
    const shape: ClusterShape = { pods, namespaces: Math.max(1, pods / 50), policies: 50 };
    const resources = generateCluster(shape);
    // The baseline rebuilds O(cluster) per batch: fewer batches at the larger sizes. Both take
    // the same churn, so both are asked about the same records.
    const batches = pods >= 50_000 ? 10 : 20;
    const oldCtx = new RebuildingFlowContext();
    const old = loadAndChurn(oldCtx, shape, resources, batches);
    const nowCtx = new FlowContext();
    const now = loadAndChurn(nowCtx, shape, resources, batches);
    const packets = records(nowCtx, now.live, batches);
    const rounds: [number[], number[]] = [[], []];
    for (let r = 0; r < 5; r++) {
      rounds[0].push(enrichNs(oldCtx, packets));
      rounds[1].push(enrichNs(nowCtx, packets));
    }
    old.flowNs = median(rounds[0]);
    now.flowNs = median(rounds[1]);
    const k = `${pods / 1000}k`;
    const load = load1();
    const ratio = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}x`;
    rows.push(
      {
        metric: `context ${k} pods: per batch (${BATCH_EVENTS} pod events)`,
        value: Number(now.batchMs.toFixed(3)),
        unit: "ms",
        note: `rebuild ${old.batchMs.toFixed(0)} ms (${ratio(old.batchMs, now.batchMs)}); load ${load}`,
      },
      {
        metric: `context ${k} pods: enrichment per flow`,
        value: Math.round(now.flowNs),
        unit: "ns",
        note: `rebuild ${Math.round(old.flowNs)} ns (${ratio(now.flowNs, old.flowNs)} of it)`,
      },
      {
        metric: `context ${k} pods: heap`,
        value: Math.round(now.heapMb),
        unit: "MiB",
        note: `rebuild ${Math.round(old.heapMb)} MiB; after gc, resources not counted`,
      },
      {
        metric: `context ${k} pods: first load`,
        value: Math.round(now.loadMs),
        unit: "ms",
        note: `rebuild ${Math.round(old.loadMs)} ms`,
      },
    );
    for (const [name, m] of [
      ["", now],
      ["Rebuild", old],
    ] as const) {
      figures[`context${k}BatchMs${name}`] = Number(m.batchMs.toFixed(3));
      figures[`context${k}FlowNs${name}`] = Math.round(m.flowNs);
      figures[`context${k}HeapMiB${name}`] = Math.round(m.heapMb);
      figures[`context${k}LoadMs${name}`] = Math.round(m.loadMs);
    }
    figures[`context${k}Load`] = load;
  }
  return { rows, figures };
}

type Enriched = ConstructorParameters<typeof Enricher>[0];
const T0 = Date.now() - 3_600_000;

/** Loads the cluster, then churns it batch by batch; the pods live at the end. */
function loadAndChurn(
  ctx: Context,
  shape: ClusterShape,
  resources: ReturnType<typeof generateCluster>,
  batches: number,
): Measured & { live: number[] } {
  const random = rng(11);
  const t0 = T0;
  const before = memoryAfterGc().heapMb;
  let t = nowMs();
  ctx.apply(
    resources.map((resource) => ({ type: "upsert" as const, resource })),
    t0,
  );
  const loadMs = nowMs() - t;
  const heapMb = memoryAfterGc().heapMb - before;

  // Churn: replicas replaced, each on a new address.
  const live = Array.from({ length: shape.pods }, (_, i) => i);
  let next = shape.pods;
  const times: number[] = [];
  for (let b = 0; b < batches; b++) {
    const events: ResourceEvent[] = [];
    for (let e = 0; e < BATCH_EVENTS / 2; e++) {
      const at = Math.floor(random() * live.length);
      events.push({
        type: "delete",
        key: `core/Pod/ns-${live[at]! % shape.namespaces}/pod-${live[at]}`,
      });
      live[at] = next;
      events.push({ type: "upsert", resource: generatePod(next++, shape, random) });
    }
    t = nowMs();
    ctx.apply(events, t0 + 1000 * (b + 1));
    times.push(nowMs() - t);
  }

  return { loadMs, batchMs: median(times), flowNs: 0, heapMb, live };
}

/** Records between pairs of live pods, after the churn. */
function records(ctx: Enriched, live: readonly number[], batches: number) {
  const random = rng(13);
  const pod = () => podAddress(live[Math.floor(random() * live.length)]!);
  const pairs = Array.from({ length: 5000 }, () => [pod(), pod()] as const);
  const time = T0 + 1000 * (batches + 1);
  return flowLines(loggedPolicies(ctx.world), pairs, RECORDS, time, random).map(parseUlogdLine);
}

function enrichNs(ctx: Enriched, packets: readonly PacketLog[]): number {
  const enricher = new Enricher(ctx);
  const t = nowMs();
  for (const p of packets) enricher.enrich(p);
  return ((nowMs() - t) * 1e6) / packets.length;
}
