// The server's side of flows: records ingested per second through `POST /api/v1/flows` (zod
// validation, SQLite insert, metrics) against the flow store's own insert in the same process
// (the baseline), and the latency from an agent's POST to a live SSE follower receiving it.
// `npm run bench -- flows-api [--records N] [--batch N] [--rounds R] [--json]`
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { ApiClient } from "../src/client/index.ts";
import { openDatastore } from "../src/datastore/index.ts";
import { type FlowRecord, FlowStore } from "../src/flows/index.ts";
import { startServer } from "../src/server/index.ts";
import { GRAPH_RECORD } from "../web/src/graph-model.ts";
import { projectionParam } from "../web/src/projection.ts";
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

/** Records the stored-flows GETs ask for: the web UI's scale test has 10,000. */
const GET_RECORDS = 10_000;

/**
 * One GET as a client makes it: from the request to the body decoded (gunzip/brotli as the
 * server chose) and parsed; the bytes that crossed the wire.
 */
function timedGet(url: string, encoding: string): Promise<{ ms: number; wire: number }> {
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    httpGet(url, { headers: { "accept-encoding": encoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        const enc = res.headers["content-encoding"];
        const body =
          enc === "br" ? brotliDecompressSync(raw) : enc === "gzip" ? gunzipSync(raw) : raw;
        JSON.parse(body.toString());
        resolve({ ms: nowMs() - t0, wire: raw.length });
      });
    }).on("error", reject);
  });
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
    const whole: { ms: number; wire: number }[] = [];
    const projected: { ms: number; wire: number }[] = [];
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
      // The UI's stored-flows GET: whole records uncompressed (the baseline, as it asked before
      // fields=) against the graph's projection compressed as chromium accepts it.
      const list = `${server.url}/api/v1/flows?limit=${GET_RECORDS}`;
      whole.push(await timedGet(list, "identity"));
      projected.push(
        await timedGet(`${list}&fields=${projectionParam(GRAPH_RECORD)}`, "gzip, deflate, br"),
      );
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
    const wholeMs = median(whole.map((g) => g.ms));
    const projectedMs = median(projected.map((g) => g.ms));
    const wholeMb = (whole[0]?.wire ?? 0) / 1e6;
    const projectedMb = (projected[0]?.wire ?? 0) / 1e6;
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
        {
          metric: `GET ${GET_RECORDS} records, whole, uncompressed (baseline)`,
          value: Number(wholeMs.toFixed(1)),
          unit: "ms",
          note: `${wholeMb.toFixed(2)} MB, median of ${rounds}`,
        },
        {
          metric: `GET ${GET_RECORDS} records, the graph's fields=, br`,
          value: Number(projectedMs.toFixed(1)),
          unit: "ms",
          note: `${projectedMb.toFixed(2)} MB on the wire, median of ${rounds}`,
        },
        {
          metric: "projected / whole GET",
          value: Number((projectedMs / wholeMs).toFixed(2)),
          unit: "ratio",
          note: `bytes ${(projectedMb / wholeMb).toFixed(3)}`,
        },
        { metric: "load average", value: String(load) },
      ],
      figures: {
        ingestPerSec: Math.round(api),
        storeInsertPerSec: Math.round(direct),
        ratio: api / direct,
        followP50Ms: lat.p50,
        followP99Ms: lat.p99,
        wholeGetMs: wholeMs,
        projectedGetMs: projectedMs,
        wholeGetMb: wholeMb,
        projectedGetMb: projectedMb,
        loadAverage: String(load),
      },
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
