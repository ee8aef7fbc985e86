// The wire schemas agents and server share: what the stage produces passes them unchanged
// through JSON, what it does not produce is refused with the field's path, and the client's
// postFlows/postAlerts send exactly the documented bodies.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ApiClient } from "../../src/client/index.ts";
import { AlertsBodySchema, FlowRecordSchema, FlowsBodySchema } from "../../src/flows/index.ts";
import { json, startWireServer, type WireServer } from "../client/wire-server.ts";
import { sampleTraffic } from "./samples.ts";

const T0 = 1_800_000_000_000;
const { records, alerts } = sampleTraffic(T0);

const servers: WireServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

const pathsOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  (r.error?.issues ?? []).map((i) => i.path.join("."));

describe("flow wire schemas", () => {
  it("records and alerts of the real stage round-trip through JSON unchanged", () => {
    assert.equal(records.length, 2, "one denied and one allowed record");
    assert.ok(alerts.length >= 1, "the built-in alert fired");
    const body = JSON.parse(JSON.stringify({ node: "node-1", records }));
    assert.deepEqual(FlowsBodySchema.parse(body), { node: "node-1", records });
    const alertBody = JSON.parse(JSON.stringify({ node: "node-1", alerts }));
    assert.deepEqual(AlertsBodySchema.parse(alertBody), { node: "node-1", alerts });
  });

  it("refuses unknown and missing fields, bad counts and times, naming the path", () => {
    const r = records[0]!;
    const cases: Array<[string, unknown, string]> = [
      ["negative packets", { ...r, packets: -1 }, "records.0.packets"],
      ["end before start", { ...r, end: r.start }, "records.0.end"],
      ["unknown flow field", { ...r, fields: { ...r.fields, colour: "x" } }, "records.0.fields"],
      [
        "missing flow field",
        { ...r, fields: { ...r.fields, action: undefined } },
        "records.0.fields.action",
      ],
      ["extra record field", { ...r, node: "x" }, "records.0"],
      ["labels not strings", { ...r, sourceLabels: { app: 1 } }, "records.0.sourceLabels.app"],
    ];
    for (const [what, record, path] of cases) {
      const result = FlowsBodySchema.safeParse({ node: "n", records: [record] });
      assert.equal(result.success, false, `${what}: accepted`);
      assert.ok(pathsOf(result).includes(path), `${what}: paths ${pathsOf(result)} lack ${path}`);
    }
    const a = alerts[0]!;
    for (const [what, alert, path] of [
      ["severity 0", { ...a, severity: 0 }, "alerts.0.severity"],
      ["time not ISO", { ...a, time: "yesterday" }, "alerts.0.time"],
      ["count 0", { ...a, count: 0 }, "alerts.0.count"],
    ] as const) {
      const result = AlertsBodySchema.safeParse({ node: "n", alerts: [alert] });
      assert.ok(pathsOf(result).includes(path), `${what}: paths ${pathsOf(result)} lack ${path}`);
    }
    assert.ok(pathsOf(FlowsBodySchema.safeParse({ node: "", records: [] })).includes("node"));
    assert.equal(FlowRecordSchema.safeParse(r).success, true);
  });

  it("postFlows and postAlerts send the documented bodies and read the count taken", async () => {
    const server = await startWireServer((req, res) => {
      const body = JSON.parse(req.body) as { records?: unknown[]; alerts?: unknown[] };
      json(res, 200, { accepted: (body.records ?? body.alerts ?? []).length });
    });
    servers.push(server);
    const client = new ApiClient({ server: server.url, token: "t" });
    assert.deepEqual(await client.postFlows("node-1", records), { accepted: records.length });
    assert.deepEqual(await client.postAlerts("node-1", alerts), { accepted: alerts.length });
    const [flows, alertsReq] = server.received;
    assert.equal(`${flows?.method} ${flows?.path}`, "POST /api/v1/flows");
    assert.equal(`${alertsReq?.method} ${alertsReq?.path}`, "POST /api/v1/alerts");
    assert.equal(flows?.headers.authorization, "Bearer t");
    assert.deepEqual(FlowsBodySchema.parse(JSON.parse(flows!.body)), { node: "node-1", records });
    assert.deepEqual(AlertsBodySchema.parse(JSON.parse(alertsReq!.body)), {
      node: "node-1",
      alerts,
    });
  });
});
