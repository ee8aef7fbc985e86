// The server's side of flows: records ingested per second through `POST /api/v1/flows` (zod
// validation, SQLite insert, metrics) against the flow store's own insert in the same process
// (the baseline), and the latency from an agent's POST to a live SSE follower receiving it.
// `npm run bench -- flows-api [--records N] [--batch N] [--rounds R] [--json]`
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "../src/client/index.ts";
import { openDatastore } from "../src/datastore/index.ts";
import { type FlowRecord, FlowStore } from "../src/flows/index.ts";
import { startServer } from "../src/server/index.ts";
import { type BenchArgs, type BenchReport, intArg, median, nowMs, summarize } from "./lib.ts";

function record(i: number, start: number): FlowRecord {
  const fields = {
    action: i % 5 === 0 ? "deny" : "allow",
    reporter: "dst",
    proto: "tcp",
    policy: `policy-${i % 100}`,
    tier: "default",
    rule: String(i % 4),
    source_ip: `198.18.${(i >> 8) & 255}.${i & 255}`,
    source_port: "",
    source_port_name: "",
    source_kind: "Pod",
    source_namespace: `ns-${i % 50}`,
    source_name: `web-${i}`,
    source_service_account: "default",
    source_node: `node-${i % 10}`,
    dest_ip: "198.19.0.10",
    dest_port: "5432",
    dest_port_name: "pg",
    dest_kind: "Pod",
    dest_namespace: "db",
    dest_name: "pg-0",
    dest_service_account: "pg",
    dest_node: "node-0",
  };
  return {
    start,
    end: start + 15_000,
    fields,
    sourceLabels: { app: "web", tier: "frontend" },
    destLabels: { app: "pg", tier: "db" },
    packets: 3,
    bytes: 180,
    connections: 1,
    logs: 3,
    firstSeen: start + 10,
    lastSeen: start + 20,
    reason: "",
    isolatedBy: [],
    wouldDeny: 0,
    wouldDenyBy: [],
  };
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const nRecords = intArg(args, "records", 50_000);
  const batch = intArg(args, "batch", 1000);
  const rounds = intArg(args, "rounds", 3);
  const dir = mkdtempSync(join(tmpdir(), "bench-flows-api-"));
  const store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
  const start = Date.now() - 60_000;
  const records = Array.from({ length: nRecords }, (_, i) => record(i, start));
  const batches: FlowRecord[][] = [];
  for (let i = 0; i < records.length; i += batch) batches.push(records.slice(i, i + batch));
  try {
    const direct = median(
      Array.from({ length: rounds }, (_, r) => {
        const fs = new FlowStore(join(dir, `direct-${r}.db`), { maxRecords: nRecords * 2 });
        const t0 = nowMs();
        for (const b of batches) fs.add(b, Date.now(), "node-1");
        const ms = nowMs() - t0;
        fs.close();
        return (nRecords / ms) * 1000;
      }),
    );
    const viaApi: number[] = [];
    const latencies: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const server = await startServer({
        store,
        port: 0,
        flows: { file: join(dir, `api-${r}.db`), records: { maxRecords: nRecords * 2 } },
      });
      const client = new ApiClient({ server: server.url });
      const t0 = nowMs();
      for (const b of batches) await client.postFlows("node-1", b);
      viaApi.push((nRecords / (nowMs() - t0)) * 1000);
      if (r === 0) {
        // One record per POST, timed from the POST to the follower's delivery.
        let sentAt = 0;
        let resolveItem: () => void = () => {};
        let connected: () => void = () => {};
        const ready = new Promise<void>((ok) => {
          connected = ok;
        });
        const follow = client.followFlows(
          { selector: 'source_name == "probe"' },
          {
            onItem() {
              latencies.push(nowMs() - sentAt);
              resolveItem();
            },
            onError() {},
            onConnected: () => connected(),
          },
        );
        await ready;
        for (let i = 0; i < 200; i++) {
          const got = new Promise<void>((ok) => {
            resolveItem = ok;
          });
          const probe = record(i, start);
          sentAt = nowMs();
          await client.postFlows("node-1", [
            { ...probe, fields: { ...probe.fields, source_name: "probe" } },
          ]);
          await got;
        }
        follow.stop();
      }
      await server.close();
    }
    const api = median(viaApi);
    const lat = summarize(latencies);
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    return {
      rows: [
        {
          metric: "ingest via POST /api/v1/flows",
          value: Math.round(api),
          unit: "records/s",
          note: `batches of ${batch}, median of ${rounds}`,
        },
        {
          metric: "flow store insert alone (baseline)",
          value: Math.round(direct),
          unit: "records/s",
        },
        { metric: "API / store", value: Number((api / direct).toFixed(2)), unit: "ratio" },
        { metric: "POST to SSE follower p50", value: Number(lat.p50.toFixed(2)), unit: "ms" },
        { metric: "POST to SSE follower p99", value: Number(lat.p99.toFixed(2)), unit: "ms" },
        { metric: "load average", value: String(load) },
      ],
      figures: {
        ingestPerSec: Math.round(api),
        storeInsertPerSec: Math.round(direct),
        ratio: api / direct,
        followP50Ms: lat.p50,
        followP99Ms: lat.p99,
        loadAverage: String(load),
      },
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
