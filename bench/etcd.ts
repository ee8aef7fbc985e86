// The etcd datastore against the SQLite one, same process, same objects: apply of one whole
// set (one etcd transaction), single-object writes, and write to watcher event (a second
// client's watch, as an agent or another API server would follow the store). etcd is started
// fresh on loopback (test/etcd-server.ts); its fsync is on the same disk as SQLite's.
// `npm run bench -- etcd [--objects N] [--writes N] [--json]`
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Datastore, openDatastore } from "../src/datastore/index.ts";
import type { Resource } from "../src/model/index.ts";
import { startEtcd } from "../test/etcd-server.ts";
import { type BenchArgs, type BenchReport, intArg, median, nowMs, summarize } from "./lib.ts";

function pod(i: number): Resource {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}`, namespace: `ns-${i % 50}`, labels: { app: `app-${i % 200}` } },
    spec: { nodeName: `node-${i % 20}` },
    status: { podIP: `198.18.${(i >> 8) & 255}.${i & 255}` },
  } as unknown as Resource;
}

interface Figures {
  readonly applyMs: number;
  readonly writeMs: number;
  readonly watch: { p50: number; p99: number };
}

async function measure(url: string, nObjects: number, nWrites: number): Promise<Figures> {
  const store = await openDatastore(url);
  const follower = await openDatastore(url);
  try {
    const set = Array.from({ length: nObjects }, (_, i) => pod(i));
    const t0 = nowMs();
    await store.apply(set);
    const applyMs = nowMs() - t0;
    const writeMs: number[] = [];
    for (let i = 0; i < nWrites; i++) {
      const t = nowMs();
      await store.create(pod(100_000 + i));
      writeMs.push(nowMs() - t);
    }
    return {
      applyMs,
      writeMs: median(writeMs),
      watch: summarize(await latency(store, follower, nWrites)),
    };
  } finally {
    await follower.close();
    await store.close();
  }
}

/** Write call -> the follower's onEvent, one write at a time. */
async function latency(writer: Datastore, follower: Datastore, n: number): Promise<number[]> {
  const out: number[] = [];
  let started = 0;
  let arrived: (() => void) | undefined;
  const w = follower.watch(
    { fromRevision: await follower.revision() },
    {
      onEvent: (e) => {
        if (e.type === "BOOKMARK") return;
        out.push(nowMs() - started);
        arrived?.();
      },
      onError: (e) => {
        throw e;
      },
    },
  );
  for (let i = 0; i < n; i++) {
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    started = nowMs();
    await writer.create(pod(200_000 + i));
    await seen;
  }
  w.stop();
  return out;
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const nObjects = intArg(args, "objects", 5_000);
  const nWrites = intArg(args, "writes", 200);
  const dir = mkdtempSync(join(tmpdir(), "bench-etcd-"));
  const etcd = await startEtcd();
  try {
    const sqlite = await measure(`sqlite:${join(dir, "store.db")}`, nObjects, nWrites);
    const onEtcd = await measure(etcd.url, nObjects, nWrites);
    const figures = {
      objects: nObjects,
      etcd_apply_ms: onEtcd.applyMs,
      sqlite_apply_ms: sqlite.applyMs,
      apply_etcd_vs_sqlite: onEtcd.applyMs / sqlite.applyMs,
      etcd_write_ms_p50: onEtcd.writeMs,
      sqlite_write_ms_p50: sqlite.writeMs,
      write_etcd_vs_sqlite: onEtcd.writeMs / sqlite.writeMs,
      etcd_watch_ms_p50: onEtcd.watch.p50,
      etcd_watch_ms_p99: onEtcd.watch.p99,
      sqlite_watch_ms_p50: sqlite.watch.p50,
      sqlite_watch_ms_p99: sqlite.watch.p99,
      loadavg: (await import("node:os")).loadavg()[0]!.toFixed(2),
    };
    const row = (metric: string, e: number, s: number, unit: string) => ({
      metric,
      value: e,
      unit,
      note: `SQLite ${s.toFixed(2)} ${unit} (etcd ${(e / s).toFixed(2)}x)`,
    });
    return {
      rows: [
        row(`apply of one ${nObjects}-object set`, onEtcd.applyMs, sqlite.applyMs, "ms"),
        row("single-object write", onEtcd.writeMs, sqlite.writeMs, "ms p50"),
        row("write to another client's watch", onEtcd.watch.p50, sqlite.watch.p50, "ms p50"),
        row("  p99", onEtcd.watch.p99, sqlite.watch.p99, "ms"),
        { metric: "load average (1 min)", value: figures.loadavg },
      ],
      figures,
    };
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
