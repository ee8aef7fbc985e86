// `npm run bench -- flows [--pods N] [--pairs N] [--records N] [--stored N] [--samples N]
//   [--scale-pods 10000,100000] [--only scale]`:
//   - flow logs per second through enrichment + aggregation, and with ulogd2's JSON parsed too,
//     against JSON.parse of the same lines alone (the baseline every reader pays); closed
//     intervals are flushed once per second of the logs' time, as FlowPipeline's timer does;
//   - the whole FlowPipeline.onPacket (also alert evaluation with the built-in alert, the live
//     stream, counters, the connection table);
//   - a flow store holding 1,000,000 records (--stored): its file, and heap and RSS growth after
//     a forced gc against the open empty store in the same process;
//   - record -> alert latency through the file follower (ulogd2 writes with sync=1, so this is
//     the part after the kernel hands the packet to ulogd2), p50/p99;
//   - the flow context at --scale-pods (bench/flows-scale.ts): per batch, per flow and memory,
//     incremental against the per-batch rebuild; `--only scale` runs just that.
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { formatLogPrefix } from "../src/dataplane/nftables/log-prefix.ts";
import {
  Aggregator,
  type Alert,
  AlertEvaluator,
  Enricher,
  FlowContext,
  FlowPipeline,
  FlowStore,
  type PacketLog,
  parseUlogdLine,
  StreamSink,
} from "../src/flows/index.ts";
import { JsonLinesFollower } from "../src/flows/json-follower.ts";
import { generateCluster, podAddress } from "./cluster-gen.ts";
import { flowLines, loggedPolicies } from "./flow-lines.ts";
import { contextScale } from "./flows-scale.ts";
import {
  type BenchArgs,
  type BenchReport,
  intArg,
  median,
  memoryAfterGc,
  nowMs,
  rng,
  summarize,
} from "./lib.ts";

export default async function flowsBench(args: BenchArgs): Promise<BenchReport> {
  const sizes = String(args["scale-pods"] ?? "10000,100000")
    .split(",")
    .map((x) => intArg({ "scale-pods": x }, "scale-pods", 0));
  if (args.only === "scale") return contextScale(sizes);
  const pods = intArg(args, "pods", 2000);
  const n = intArg(args, "records", 200_000);
  const stored = intArg(args, "stored", 1_000_000);
  const samples = intArg(args, "samples", 200);
  const resources = generateCluster({
    pods,
    namespaces: Math.max(1, pods / 50),
    policies: 50,
  });
  const ctx = new FlowContext();
  ctx.apply(
    resources.map((resource) => ({ type: "upsert" as const, resource })),
    Date.now() - 60_000,
  );
  const policies = loggedPolicies(ctx.world);
  const random = rng(7);
  // Traffic between a fixed set of pod pairs, as in a cluster: many logs per flow record.
  const pairs = Array.from(
    { length: intArg(args, "pairs", 5000) },
    () =>
      [podAddress(Math.floor(random() * pods)), podAddress(Math.floor(random() * pods))] as const,
  );
  const t0 = Date.now();
  const lines = flowLines(policies, pairs, n, t0, random);
  const packets = lines.map(parseUlogdLine);
  // First, before the throughput rounds leave freed pages that would make RSS shrink meanwhile.
  const storage = storeMemory(ctx, packets, stored, t0);

  const rounds = 3;
  const baseline: number[] = [];
  const enrichAgg: number[] = [];
  const full: number[] = [];
  const whole: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = nowMs();
    for (const l of lines) JSON.parse(l);
    baseline.push(nowMs() - t);
    let e = new Enricher(ctx);
    let agg = new Aggregator();
    t = nowMs();
    for (let i = 0; i < n; i++) {
      const p = packets[i]!;
      agg.add(e.enrich(p)!);
      if (i % 1000 === 999) agg.flush(p.time);
    }
    agg.flush(Number.POSITIVE_INFINITY);
    enrichAgg.push(nowMs() - t);
    e = new Enricher(ctx);
    agg = new Aggregator();
    t = nowMs();
    for (let i = 0; i < n; i++) {
      const p = parseUlogdLine(lines[i]!);
      agg.add(e.enrich(p)!);
      if (i % 1000 === 999) agg.flush(p.time);
    }
    agg.flush(Number.POSITIVE_INFINITY);
    full.push(nowMs() - t);
    const pipeline = new FlowPipeline({
      context: ctx,
      aggregator: new Aggregator(),
      alerts: new AlertEvaluator([], { defaultAlert: true }),
      sinks: [new StreamSink()],
    });
    t = nowMs();
    for (let i = 0; i < n; i++) {
      const p = packets[i]!;
      pipeline.onPacket(p);
      if (i % 1000 === 999) pipeline.flush(p.time);
    }
    pipeline.flush(Number.POSITIVE_INFINITY);
    whole.push(nowMs() - t);
  }
  const perSec = (ms: number) => Math.round((n / ms) * 1000);

  const latency = await alertLatency(ctx, policies[0]!, samples);
  const rows = [
    { metric: "JSON.parse alone (baseline)", value: perSec(median(baseline)), unit: "lines/s" },
    {
      metric: "enrichment + aggregation",
      value: perSec(median(enrichAgg)),
      unit: "logs/s",
      note: `goal 100,000; ${pods} pods, ${pairs.length} pairs, ${n} logs, median of ${rounds}`,
    },
    {
      metric: "parse + enrich + aggregate",
      value: perSec(median(full)),
      unit: "lines/s",
      note: `${(median(full) / median(baseline)).toFixed(1)}x the baseline's time`,
    },
    {
      metric: "FlowPipeline.onPacket (all of it)",
      value: perSec(median(whole)),
      unit: "logs/s",
      note: "enrich, aggregate, built-in alert, stream, counters, connections",
    },
    { metric: "flow store insert", value: storage.insertPerSec, unit: "records/s" },
    {
      metric: "flow store file per 1M records",
      value: storage.fileMiBPer1M,
      unit: "MiB",
      note: `${stored.toLocaleString("en-US")} stored, ${storage.bytesPerRecord} B each`,
    },
    {
      metric: "heap growth, 1M stored records",
      value: storage.heapMiBPer1M,
      unit: "MiB",
      note: `after gc, vs. the open empty store; at 1/4: ${storage.heapQuarterMiB} MiB`,
    },
    {
      metric: "RSS growth, 1M stored records",
      value: storage.rssMiBPer1M,
      unit: "MiB",
      note: `after gc; at 1/4: ${storage.rssQuarterMiB} MiB; SQLite page cache ${storage.cacheKiB} KiB`,
    },
    {
      metric: "record -> alert p50",
      value: latency.p50,
      unit: "ms",
      note: "file follower (20 ms poll) -> alert",
    },
    {
      metric: "record -> alert p99",
      value: latency.p99,
      unit: "ms",
      note: `goal 250 ms end to end; ${samples} samples`,
    },
  ];
  const scale = contextScale(sizes);
  return {
    rows: [...rows, ...scale.rows],
    figures: {
      ...scale.figures,
      baselineLinesPerSec: perSec(median(baseline)),
      enrichAggregatePerSec: perSec(median(enrichAgg)),
      parseEnrichAggregatePerSec: perSec(median(full)),
      pipelinePerSec: perSec(median(whole)),
      storeInsertPerSec: storage.insertPerSec,
      storeMiBPer1M: storage.fileMiBPer1M,
      heapMiBPer1M: storage.heapMiBPer1M,
      rssMiBPer1M: storage.rssMiBPer1M,
      alertP50Ms: latency.p50,
      alertP99Ms: latency.p99,
    },
  };
}

/**
 * Memory of a flow store holding `stored` records (the store's default bound is 1,000,000): heap
 * and RSS after a forced gc, against the same process with the store open and empty, at a
 * quarter and at the whole, so a bounded cost (SQLite's page cache) shows as flat and a per-record
 * one as linear. Records are the aggregator's, restamped into successive intervals, stored in
 * batches of 1,000 as the pipeline's flush does; the file is measured after close (WAL folded).
 */
function storeMemory(ctx: FlowContext, packets: readonly PacketLog[], stored: number, t0: number) {
  const e = new Enricher(ctx);
  const agg = new Aggregator({ intervalMs: 1000 });
  for (const p of packets.slice(0, 20_000)) agg.add(e.enrich(p)!);
  const templates = agg.flush(Number.POSITIVE_INFINITY);
  const dir = mkdtempSync(join(tmpdir(), "msx-bench-flows-"));
  const mib = (mb: number, per: number) => Math.round((mb * 1e6) / per);
  try {
    const file = join(dir, "flows.db");
    const store = new FlowStore(file, { maxRecords: stored, maxAgeMs: Number.MAX_SAFE_INTEGER });
    const cacheKiB = Math.abs(Number(new Database(file).pragma("cache_size", { simple: true })));
    const base = memoryAfterGc();
    let quarter = base;
    let insertMs = 0;
    for (let i = 0, batch = 0; i < stored; batch++) {
      const size = Math.min(1000, stored - i);
      const records = Array.from({ length: size }, (_, k) => {
        const r = templates[(i + k) % templates.length]!;
        const start = t0 + batch * 1000;
        return { ...r, start, end: start + 1000 };
      });
      const t = nowMs();
      store.add(records, t0);
      insertMs += nowMs() - t;
      i += size;
      if (quarter === base && i >= stored / 4) quarter = memoryAfterGc();
    }
    const whole = memoryAfterGc();
    store.close();
    const bytes = ["", "-wal"].reduce((s, x) => {
      try {
        return s + statSync(file + x).size;
      } catch {
        return s;
      }
    }, 0);
    return {
      insertPerSec: Math.round((stored / insertMs) * 1000),
      bytesPerRecord: Math.round(bytes / stored),
      fileMiBPer1M: Math.round((bytes * 1e6) / stored / (1024 * 1024)),
      heapMiBPer1M: mib(whole.heapMb - base.heapMb, stored),
      rssMiBPer1M: mib(whole.rssMb - base.rssMb, stored),
      heapQuarterMiB: Math.round(quarter.heapMb - base.heapMb),
      rssQuarterMiB: Math.round(quarter.rssMb - base.rssMb),
      cacheKiB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lines appended to a file as ulogd2 does, followed and alerted on; ms from write to alert. */
async function alertLatency(
  ctx: FlowContext,
  policy: { tier: string; id: string },
  samples: number,
): Promise<{ p50: number; p99: number }> {
  const dir = mkdtempSync(join(tmpdir(), "msx-bench-alert-"));
  const file = join(dir, "flows.json");
  writeFileSync(file, "");
  const sink = new StreamSink();
  const written = new Map<string, number>();
  const latencies: number[] = [];
  sink.stream.subscribe((a: Alert) => {
    const at = written.get(a.port);
    if (at !== undefined) latencies.push(nowMs() - at);
  });
  const pipeline = new FlowPipeline({
    context: ctx,
    aggregator: new Aggregator(),
    // One alert per distinct port: each sample raises exactly one.
    alerts: new AlertEvaluator([], { defaultAlert: true }),
    sinks: [sink],
  });
  const follower = new JsonLinesFollower(file, {
    onLine: (l) => pipeline.onPacket(parseUlogdLine(l)),
  });
  follower.start();
  try {
    for (let i = 0; i < samples; i++) {
      const now = Date.now();
      const port = String(1000 + i);
      written.set(port, nowMs());
      appendFileSync(
        file,
        `${JSON.stringify({
          "raw.pktlen": 60,
          "oob.prefix": formatLogPrefix({
            action: "D",
            direction: "ingress",
            tier: policy.tier,
            policy: policy.id as never,
            rule: 0,
          }),
          "oob.time.sec": Math.floor(now / 1000),
          "oob.time.usec": (now % 1000) * 1000,
          "oob.family": 2,
          "ip.protocol": 6,
          src_ip: podAddress(1),
          dest_ip: podAddress(2),
          src_port: 40000,
          dest_port: Number(port),
        })}\n`,
      );
      const deadline = Date.now() + 2000;
      while (latencies.length <= i && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    follower.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const s = summarize(latencies);
  return { p50: Number(s.p50.toFixed(1)), p99: Number(s.p99.toFixed(1)) };
}
