// `npm run bench -- flows [--pods N] [--pairs N] [--records N] [--stored N] [--samples N]`:
//   - flow logs per second through enrichment + aggregation, and with ulogd2's JSON parsed too,
//     against JSON.parse of the same lines alone (the baseline every reader pays); closed
//     intervals are flushed once per second of the logs' time, as FlowPipeline's timer does;
//   - the whole FlowPipeline.onPacket (also alert evaluation with the built-in alert, the live
//     stream, counters, the connection table);
//   - bytes per stored flow record in the SQLite flow store, scaled to 1,000,000 records;
//   - record -> alert latency through the file follower (ulogd2 writes with sync=1, so this is
//     the part after the kernel hands the packet to ulogd2), p50/p99.
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatLogPrefix } from "../src/dataplane/nftables/log-prefix.ts";
import { policyId } from "../src/engine/index.ts";
import {
  Aggregator,
  type Alert,
  AlertEvaluator,
  Enricher,
  FlowContext,
  FlowPipeline,
  FlowStore,
  parseUlogdLine,
  StreamSink,
} from "../src/flows/index.ts";
import { JsonLinesFollower } from "../src/flows/json-follower.ts";
import { generateCluster, podAddress } from "./cluster-gen.ts";
import {
  type BenchArgs,
  type BenchReport,
  intArg,
  median,
  nowMs,
  rng,
  rssMb,
  summarize,
} from "./lib.ts";

export default async function flowsBench(args: BenchArgs): Promise<BenchReport> {
  const pods = intArg(args, "pods", 2000);
  const n = intArg(args, "records", 200_000);
  const stored = intArg(args, "stored", 100_000);
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
  const policies = ctx.world.program.tiers.flatMap((t) =>
    t.policies.map((p) => ({ tier: t.name, id: policyId(p.ref) })),
  );
  const random = rng(7);
  // Traffic between a fixed set of pod pairs, as in a cluster: many logs per flow record.
  const pairs = Array.from({ length: intArg(args, "pairs", 5000) }, () => [
    podAddress(Math.floor(random() * pods)),
    podAddress(Math.floor(random() * pods)),
  ]);
  const t0 = Date.now();
  const lines = Array.from({ length: n }, (_, i) => {
    const p = policies[Math.floor(random() * policies.length)]!;
    const deny = random() < 0.5;
    return JSON.stringify({
      "raw.pktlen": 60,
      "oob.prefix": deny
        ? formatLogPrefix({ action: "T", direction: "ingress", tier: p.tier })
        : formatLogPrefix({
            action: "D",
            direction: "ingress",
            tier: p.tier,
            policy: p.id as never,
            rule: 0,
          }),
      "oob.time.sec": Math.floor((t0 + i) / 1000),
      "oob.time.usec": ((t0 + i) % 1000) * 1000,
      "oob.family": 2,
      "raw.label": 1,
      "ip.protocol": 6,
      src_ip: pairs[i % pairs.length]![0],
      dest_ip: pairs[i % pairs.length]![1],
      src_port: 30000 + (i % 30000),
      dest_port: [80, 443, 5432, 6379][i % 4],
      "tcp.syn": 1,
      "tcp.ack": 0,
    });
  });
  const packets = lines.map(parseUlogdLine);

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

  // Storage: one record per distinct key, as the aggregator emits them.
  const dir = mkdtempSync(join(tmpdir(), "msx-bench-flows-"));
  let bytesPerRecord: number;
  let rssPerRecord: number;
  let insertPerSec: number;
  try {
    const file = join(dir, "flows.db");
    const store = new FlowStore(file, { maxRecords: stored * 2 });
    const e = new Enricher(ctx);
    const agg = new Aggregator({ intervalMs: 1000, maxGroups: stored + 1 });
    for (let i = 0; i < stored; i++) agg.add(e.enrich(packets[i % packets.length]!)!);
    const records = agg.flush(Number.POSITIVE_INFINITY);
    const rss0 = rssMb();
    const t = nowMs();
    for (let i = 0; i < records.length; i += 1000) store.add(records.slice(i, i + 1000), t0);
    insertPerSec = Math.round((records.length / (nowMs() - t)) * 1000);
    rssPerRecord = ((rssMb() - rss0) * 1024 * 1024) / records.length;
    store.close();
    const size = ["", "-wal"].reduce((s, x) => {
      try {
        return s + statSync(file + x).size;
      } catch {
        return s;
      }
    }, 0);
    bytesPerRecord = size / records.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

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
    { metric: "flow store insert", value: insertPerSec, unit: "records/s" },
    {
      metric: "flow store file per 1M records",
      value: Math.round((bytesPerRecord * 1e6) / (1024 * 1024)),
      unit: "MiB",
      note: `measured on ${stored.toLocaleString("en-US")}`,
    },
    {
      metric: "RSS growth per 1M stored records",
      value: Math.round((rssPerRecord * 1e6) / (1024 * 1024)),
      unit: "MiB",
      note: "SQLite page cache, not records in the heap",
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
  return {
    rows,
    figures: {
      baselineLinesPerSec: perSec(median(baseline)),
      enrichAggregatePerSec: perSec(median(enrichAgg)),
      parseEnrichAggregatePerSec: perSec(median(full)),
      pipelinePerSec: perSec(median(whole)),
      storeInsertPerSec: insertPerSec,
      storeMiBPer1M: Math.round((bytesPerRecord * 1e6) / (1024 * 1024)),
      rssMiBPer1M: Math.round((rssPerRecord * 1e6) / (1024 * 1024)),
      alertP50Ms: latency.p50,
      alertP99Ms: latency.p99,
    },
  };
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
