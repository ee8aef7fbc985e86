// The SQLite datastore: apply throughput of one whole set, single-object write rate, and watch
// delivery latency (same connection, and another connection on the same file, as another
// process would write). Baselines in the same process: model validation alone for the set,
// a bare better-sqlite3 INSERT per transaction (same file system, same synchronous=FULL) for
// single writes.
// `npm run bench -- store [--objects N] [--writes N] [--rounds R] [--dir DIR] [--json]`
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteDatastore, type WatchEvent } from "../src/datastore/index.ts";
import { parseResource, type Resource } from "../src/model/index.ts";
import { type BenchArgs, type BenchReport, intArg, median, nowMs, summarize } from "./lib.ts";

function pod(i: number, extra: Record<string, string> = {}): Resource {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `pod-${i}`,
      namespace: `ns-${i % 50}`,
      labels: { app: `app-${i % 200}`, tier: ["web", "api", "db"][i % 3]!, ...extra },
    },
    spec: { nodeName: `node-${i % 20}` },
    status: { podIP: `198.18.${(i >> 8) & 255}.${i & 255}` },
  } as unknown as Resource;
}

function policy(i: number): Resource {
  return {
    apiVersion: "microseg.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `policy-${i}`, namespace: `ns-${i % 50}` },
    spec: {
      selector: `app == 'app-${i % 200}'`,
      types: ["Ingress"],
      ingress: [{ action: "Allow", source: { selector: `tier == 'web'` } }],
    },
  } as unknown as Resource;
}

/** A set like a cluster dump: nine pods to one policy. */
function makeSet(n: number, extra: Record<string, string> = {}): Resource[] {
  return Array.from({ length: n }, (_, i) => (i % 10 === 9 ? policy(i) : pod(i, extra)));
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const nObjects = intArg(args, "objects", 10_000);
  const nWrites = intArg(args, "writes", 500);
  const rounds = intArg(args, "rounds", 3);
  const root = mkdtempSync(
    join(typeof args.dir === "string" ? args.dir : tmpdir(), "bench-store-"),
  );
  let dbs = 0;
  const fresh = () => SqliteDatastore.open(join(root, `s${dbs++}.db`), { retainRevisions: 0 });
  try {
    const set = makeSet(nObjects);
    const validateMs = median(
      Array.from({ length: rounds }, () => {
        const t0 = nowMs();
        for (const r of set) parseResource(r);
        return nowMs() - t0;
      }),
    );

    const applyMs: number[] = [];
    const reapplyMs: number[] = [];
    const changeMs: number[] = [];
    const changed = makeSet(nObjects, { version: "2" });
    for (let r = 0; r < rounds; r++) {
      const store = fresh();
      let t0 = nowMs();
      await store.apply(set);
      applyMs.push(nowMs() - t0);
      t0 = nowMs();
      await store.apply(set);
      reapplyMs.push(nowMs() - t0);
      t0 = nowMs();
      await store.apply(changed);
      changeMs.push(nowMs() - t0);
      await store.close();
    }

    // Single-object writes, each its own durable transaction.
    const store = fresh();
    const writeMs: number[] = [];
    for (let i = 0; i < nWrites; i++) {
      const t0 = nowMs();
      await store.create(pod(100_000 + i));
      writeMs.push(nowMs() - t0);
    }
    const raw = new Database(join(root, "raw.db"));
    raw.pragma("journal_mode = WAL");
    raw.pragma("synchronous = FULL");
    raw.exec("CREATE TABLE t (k TEXT PRIMARY KEY, body TEXT)");
    const insert = raw.prepare("INSERT INTO t VALUES (?, ?)");
    const body = JSON.stringify(pod(1));
    const rawMs: number[] = [];
    for (let i = 0; i < nWrites; i++) {
      const t0 = nowMs();
      raw.transaction(() => insert.run(`k${i}`, body)).immediate();
      rawMs.push(nowMs() - t0);
    }
    raw.close();

    // Write call -> watcher's onEvent (the durable commit included), for a write on the
    // watcher's connection and on another one (as another process's would be).
    const latency = async (writer: SqliteDatastore, base: number): Promise<number[]> => {
      const out: number[] = [];
      let started = 0;
      let arrived: (() => void) | undefined;
      const w = store.watch(
        { fromRevision: await store.revision() },
        {
          onEvent: (e: WatchEvent) => {
            if (e.type === "BOOKMARK") return;
            out.push(nowMs() - started);
            arrived?.();
          },
          onError: (e) => {
            throw e;
          },
        },
      );
      for (let i = 0; i < Math.min(nWrites, 200); i++) {
        const seen = new Promise<void>((resolve) => {
          arrived = resolve;
        });
        started = nowMs();
        await writer.create(pod(base + i));
        await seen;
      }
      w.stop();
      return out;
    };
    const local = summarize(await latency(store, 200_000));
    const other = SqliteDatastore.open(store.path);
    const cross = summarize(await latency(other, 300_000));
    await other.close();
    await store.close();

    const applyMedian = median(applyMs);
    const writeMedian = median(writeMs);
    const rawMedian = median(rawMs);
    const figures = {
      objects: nObjects,
      apply_ms: applyMedian,
      apply_objects_per_s: Math.round(nObjects / (applyMedian / 1000)),
      apply_vs_validation: applyMedian / validateMs,
      reapply_unchanged_ms: median(reapplyMs),
      reapply_all_changed_ms: median(changeMs),
      write_ms_p50: writeMedian,
      writes_per_s: Math.round(1000 / writeMedian),
      write_vs_raw_insert: writeMedian / rawMedian,
      watch_local_ms_p50: local.p50,
      watch_local_ms_p99: local.p99,
      watch_cross_connection_ms_p50: cross.p50,
      watch_cross_connection_ms_p99: cross.p99,
    };
    return {
      rows: [
        {
          metric: `apply of one ${nObjects}-object set`,
          value: applyMedian,
          unit: "ms",
          note: `median of ${rounds}, fresh store`,
        },
        { metric: "apply throughput", value: figures.apply_objects_per_s, unit: "objects/s" },
        {
          metric: "  of which model validation",
          value: validateMs,
          unit: "ms",
          note: `apply is ${figures.apply_vs_validation.toFixed(2)}x validation alone`,
        },
        { metric: "re-apply, nothing changed", value: figures.reapply_unchanged_ms, unit: "ms" },
        {
          metric: "re-apply, every object changed",
          value: figures.reapply_all_changed_ms,
          unit: "ms",
        },
        {
          metric: "single-object write",
          value: writeMedian,
          unit: "ms p50",
          note: `${nWrites} creates, each durable`,
        },
        { metric: "single-object writes", value: figures.writes_per_s, unit: "writes/s" },
        {
          metric: "  vs bare INSERT transaction",
          value: figures.write_vs_raw_insert,
          unit: "x",
          note: `bare: ${rawMedian.toFixed(3)} ms`,
        },
        {
          metric: "write to watcher event, same connection",
          value: local.p50,
          unit: "ms p50",
          note: `p99 ${local.p99.toFixed(3)} ms`,
        },
        {
          metric: "write to watcher event, other connection",
          value: cross.p50,
          unit: "ms p50",
          note: `p99 ${cross.p99.toFixed(3)} ms (polls data_version every 20 ms)`,
        },
      ],
      figures,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
