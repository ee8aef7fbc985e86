// Shipping a node's flow records and alerts: to an API server that is away at first (a real
// HTTP receiver on loopback, started late), held in bounded queues that never block the
// caller, everything up to the bound delivered on its return, the overflow counted; and in
// manifest mode as JSON lines in a file.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ApiOutlet, FileOutlet } from "../../src/agent/index.ts";
import { ApiClient } from "../../src/client/index.ts";
import { AlertsBodySchema, FlowsBodySchema } from "../../src/flows/index.ts";
import { sampleTraffic } from "../flows/samples.ts";
import { until } from "./kernel-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "msx-outlet-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A free loopback port: bound, then released. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function receiver(port: number) {
  const got = { records: [] as unknown[], alerts: [] as unknown[], nodes: new Set<string>() };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const json = JSON.parse(body);
      if (req.url === "/api/v1/flows") {
        const b = FlowsBodySchema.parse(json);
        got.nodes.add(b.node);
        got.records.push(...b.records);
        res.end(JSON.stringify({ accepted: b.records.length }));
      } else {
        const b = AlertsBodySchema.parse(json);
        got.nodes.add(b.node);
        got.alerts.push(...b.alerts);
        res.end(JSON.stringify({ accepted: b.alerts.length }));
      }
    });
  });
  return {
    got,
    listen: () => new Promise<void>((r) => server.listen(port, "127.0.0.1", r)),
    close: () => new Promise((r) => server.close(r)),
  };
}

test("server away: records and alerts wait in bounded queues and all arrive on its return", async () => {
  const port = await freePort();
  const outlet = new ApiOutlet({
    node: "node-1",
    receiver: new ApiClient({ server: `http://127.0.0.1:${port}` }),
    capacity: { records: 4, alerts: 2 },
    backoffMs: { first: 20, max: 100 },
  });
  const { records, alerts } = sampleTraffic(1_800_000_000_000, 3);
  const batches = [records, records, records];
  for (const b of batches) outlet.records(b);
  for (const a of [...alerts, ...alerts, ...alerts]) outlet.alert(a);
  // Handing on returned with nothing delivered: it never waits for the server.
  assert.equal(outlet.status().records.sent, 0);
  await until("a failed delivery", () => outlet.status().failures > 0, 5000);
  const sent = records.length * batches.length;
  const away = outlet.status();
  assert.equal(away.records.sent + away.alerts.sent, 0);
  assert.equal(away.records.queued, 4);
  assert.equal(away.records.dropped, sent - 4);
  assert.equal(away.alerts.queued, 2);
  assert.equal(away.alerts.dropped, alerts.length * 3 - 2);
  assert.match(away.lastError ?? "", /./);

  const server = receiver(port);
  await server.listen();
  try {
    await until(
      "the queues drained",
      () => outlet.status().records.queued === 0 && outlet.status().alerts.queued === 0,
      5000,
    );
    const back = outlet.status();
    assert.deepEqual([back.records.sent, back.alerts.sent, back.lastError], [4, 2, undefined]);
    assert.equal(server.got.records.length, 4);
    assert.equal(server.got.alerts.length, 2);
    assert.deepEqual([...server.got.nodes], ["node-1"]);
    // The newest were kept: the last four records handed on.
    assert.deepEqual(server.got.records, [...batches.flat()].slice(-4));
  } finally {
    outlet.stop();
    await server.close();
  }
});

test("manifest mode: JSON lines in the file, a line per record and per alert", () => {
  const file = join(dir, "flows.jsonl");
  const outlet = new FileOutlet(file);
  const { records, alerts } = sampleTraffic(1_800_000_000_000, 2);
  outlet.records(records);
  for (const a of alerts) outlet.alert(a);
  const lines = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.type),
    [...records.map(() => "flow"), ...alerts.map(() => "alert")],
  );
  const { type: _, ...first } = lines[0];
  assert.deepEqual(first, JSON.parse(JSON.stringify(records[0])));
  assert.deepEqual(outlet.status().records, { sent: records.length, queued: 0, dropped: 0 });
});

test("manifest mode: a file that cannot be written counts drops, never throws", () => {
  const outlet = new FileOutlet(join(dir, "missing-dir", "flows.jsonl"));
  const { records, alerts } = sampleTraffic(1_800_000_000_000, 1);
  outlet.records(records);
  outlet.alert(alerts[0]!);
  const s = outlet.status();
  assert.deepEqual([s.records.dropped, s.alerts.dropped, s.failures], [records.length, 1, 2]);
  assert.match(s.lastError ?? "", /ENOENT/);
});
