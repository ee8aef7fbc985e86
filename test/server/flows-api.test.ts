// Flow records and alerts through the real API server over real HTTP: agents' ingest, queries
// by time and selector, live server-sent event streams (heartbeats, resume with Last-Event-ID),
// acknowledgement, bad bodies (422 naming each field path, nothing stored), metrics.
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { ApiClient, type EventFollow } from "../../src/client/index.ts";
import type { StoredAlert, StoredFlowRecord } from "../../src/flows/index.ts";
import { sampleTraffic } from "../flows/samples.ts";
import { type Harness, startHarness } from "./harness.ts";

const T0 = Date.now() - 120_000;
const { records, alerts } = sampleTraffic(T0);

let h: Harness;
let client: ApiClient;
const follows: EventFollow[] = [];

before(async () => {
  h = await startHarness({ flows: { heartbeatMs: 100 } });
  client = new ApiClient({ server: h.url });
});
after(async () => {
  for (const f of follows) f.stop();
  await h?.close();
});

/** Items of a follow until `enough` says so (bounded by a deadline that fails the test). */
function collect<T extends { id: number }>(
  start: (l: { onItem(i: T): void; onError(e: Error): void; onConnected(): void }) => EventFollow,
  enough: (items: T[]) => boolean,
  onConnected: () => void = () => {},
  ms = 10_000,
): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${items.length} items in ${ms} ms`)), ms);
    const f = start({
      onItem(i) {
        items.push(i);
        if (enough(items)) {
          clearTimeout(timer);
          f.stop();
          resolve(items);
        }
      },
      onError: reject,
      onConnected,
    });
    follows.push(f);
  });
}

describe("flows API", () => {
  it("stores what agents ship, with the node, and answers queries by time and selector", async () => {
    assert.deepEqual(await client.postFlows("node-1", records), { accepted: records.length });
    const all = await client.flows();
    assert.equal(all.length, records.length);
    assert.ok(all.every((r) => r.node === "node-1" && r.id > 0));
    const denied = await client.flows({ selector: 'action == "deny"' });
    assert.deepEqual(
      denied.map((r) => `${r.fields.source_name} -> ${r.fields.dest_name}:${r.fields.dest_port}`),
      ["frontend-0 -> ldap-0:389"],
    );
    assert.equal(denied[0]?.packets, 3);
    const byLabel = await client.flows({ selector: 'source_labels.role == "ldap-client"' });
    assert.equal(byLabel[0]?.fields.action, "allow");
    assert.equal((await client.flows({ since: "1m" })).length, 0, "both intervals ended before");
    assert.equal((await client.flows({ since: "10m" })).length, records.length);
    assert.equal((await client.flows({ limit: 1 })).length, 1);
  });

  it("refuses bad bodies with 422 naming each field path, and stores nothing of them", async () => {
    const before = (await client.flows()).length;
    const r = records[0]!;
    const bad = await h.request("POST", "/api/v1/flows", {
      body: { node: "node-1", records: [r, { ...r, packets: -1, fields: { ...r.fields, x: "" } }] },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.reason, "Invalid");
    const fields = bad.json.details.causes.map((c: { field: string }) => c.field);
    assert.ok(fields.includes("records[1].packets"), fields.join(", "));
    assert.ok(
      fields.some((f: string) => f.startsWith("records[1].fields")),
      fields.join(", "),
    );
    assert.equal((await client.flows()).length, before, "the good record of the set is not kept");
    const cases: Array<[string, unknown, number, string]> = [
      ["no node", { records: [] }, 422, "node"],
      [
        "alert severity",
        { node: "n", alerts: [{ ...alerts[0], severity: 101 }] },
        422,
        "alerts[0].severity",
      ],
    ];
    for (const [what, body, code, field] of cases) {
      const path = what.startsWith("alert") ? "/api/v1/alerts" : "/api/v1/flows";
      const res = await h.request("POST", path, { body });
      assert.equal(res.status, code, `${what}: ${res.text}`);
      const got = res.json.details.causes.map((c: { field: string }) => c.field);
      assert.ok(got.includes(field), `${what}: causes ${got.join(", ")} lack ${field}`);
    }
    const notJson = await h.request("POST", "/api/v1/flows", {
      raw: "{ nope",
      headers: { "content-type": "application/json" },
    });
    assert.equal(notJson.status, 400);
    const query = await h.request("GET", "/api/v1/flows?selector=action%20%3D%3D");
    assert.equal(query.status, 400);
    assert.equal(query.json.details.causes[0].field, "selector");
    const since = await h.request("GET", "/api/v1/flows?since=yesterday");
    assert.equal(since.json.details.causes[0].field, "since");
    assert.equal((await client.flows()).length, before);
  });

  it("a body over the limit is refused before it is read", async () => {
    const huge = "x".repeat(33 * 1024 * 1024);
    const res = await h.request("POST", "/api/v1/flows", {
      raw: huge,
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 413);
  });

  it("follow: stored records, then each new one live; heartbeats; no item twice", async () => {
    const raw = await fetch(`${h.url}/api/v1/flows?follow=1`);
    assert.equal(raw.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = raw.body!.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes(": heartbeat") && Date.now() < deadline) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    assert.match(text, /^retry: \d+/);
    assert.match(text, /id: \d+\nevent: flow\ndata: \{/);
    assert.ok(text.includes(": heartbeat"), "a heartbeat within the deadline");
    await reader.cancel();

    const stored = (await client.flows()).length;
    const later = sampleTraffic(Date.now() - 60_000).records;
    let posted: Promise<unknown> = Promise.resolve();
    const got = await collect<StoredFlowRecord>(
      (l) => client.followFlows({ selector: 'action == "deny"' }, l),
      (items) => {
        // Once the stored deny came, two more nodes ship theirs.
        if (items.length === 1)
          posted = client.postFlows("node-2", later).then(() => client.postFlows("node-3", later));
        return items.length === 3;
      },
    );
    await posted;
    assert.deepEqual(
      got.map((r) => `${r.node} ${r.fields.action}`),
      ["node-1 deny", "node-2 deny", "node-3 deny"],
    );
    assert.equal(new Set(got.map((r) => r.id)).size, 3);
    assert.equal((await client.flows()).length, stored + 2 * later.length);
  });

  it("Last-Event-ID resumes after the last record seen: only later ones come", async () => {
    const all = await client.flows();
    const mid = all[1]!.id;
    const res = await fetch(`${h.url}/api/v1/flows`, {
      headers: { accept: "text/event-stream", "last-event-id": String(mid) },
    });
    const reader = res.body!.getReader();
    let text = "";
    const want = all.filter((r) => r.id > mid).length;
    const deadline = Date.now() + 10_000;
    while ((text.match(/event: flow/g) ?? []).length < want && Date.now() < deadline) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    await reader.cancel();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      ids,
      all.filter((r) => r.id > mid).map((r) => r.id),
    );
  });
});

describe("alerts API", () => {
  it("stores alerts, streams them live, and acknowledges one", async () => {
    let posted: Promise<unknown> = Promise.resolve();
    // The server subscribes before it answers, so posting once connected misses nothing.
    const streamed = await collect<StoredAlert>(
      (l) => client.followAlerts({}, l),
      (items) => items.length === alerts.length,
      () => {
        posted = client.postAlerts("node-1", alerts);
      },
    );
    assert.deepEqual(await posted, { accepted: alerts.length });
    assert.equal(streamed[0]?.alert, "default-denied-connection");
    assert.equal(streamed[0]?.source, "blue/frontend-0");
    assert.equal(streamed[0]?.destination, "blue/ldap-0");
    const listed = await client.alerts();
    assert.deepEqual(
      listed.map((a) => a.id),
      streamed.map((a) => a.id),
    );
    const acked = await client.acknowledgeAlert(listed[0]!.id);
    assert.ok(acked.acknowledgedAt);
    assert.equal((await client.alerts({ acknowledged: false })).length, listed.length - 1);
    const again = await client.acknowledgeAlert(listed[0]!.id);
    assert.equal(again.acknowledgedAt, acked.acknowledgedAt, "the first acknowledgement counts");
    const missing = await h.request("POST", "/api/v1/alerts/99999/acknowledge");
    assert.equal(missing.status, 404);
    const badId = await h.request("POST", "/api/v1/alerts/x/acknowledge");
    assert.equal(badId.status, 400);
  });

  it("metrics count records, packets per policy and rule, alerts by severity, agents' losses", async () => {
    await client.postFlows("node-9", [], 7);
    const text = (await h.request("GET", "/metrics")).text;
    assert.match(text, /microseg_flow_records_received_total\{node="node-1"\} 2/);
    assert.match(
      text,
      /microseg_flow_packets_total\{policy="blue-ldap",tier="security",rule="2",action="deny",reporter="dst"\} 9/,
    );
    assert.match(
      text,
      /microseg_alerts_total\{alert="default-denied-connection",severity="warning"\} 1/,
    );
    assert.match(text, /microseg_flow_lost_total\{node="node-9",kind="records"\} 7/);
  });
});

describe("flows API behind a token", () => {
  it("ingest and queries need the bearer token like every other route", async () => {
    const secured = await startHarness({ token: "s3cret" });
    try {
      const anon = await secured.request("POST", "/api/v1/flows", {
        body: { node: "n", records: [] },
      });
      assert.equal(anon.status, 401);
      assert.equal((await secured.request("GET", "/api/v1/alerts")).status, 401);
      const ok = new ApiClient({ server: secured.url, token: "s3cret" });
      assert.deepEqual(await ok.postFlows("n", records), { accepted: records.length });
    } finally {
      await secured.close();
    }
  });
});

describe("staged policies' would-deny status", () => {
  it("is shown on get and list from the flow store, without writing the store", async () => {
    const staged = {
      apiVersion: "microseg.io/v1",
      kind: "StagedNetworkPolicy",
      metadata: { name: "stage-deny", namespace: "blue" },
      spec: { selector: "all()", types: ["Ingress"] },
    } as const;
    const created = await client.create(staged as never);
    const ref = {
      kind: { apiVersion: "microseg.io/v1", kind: "StagedNetworkPolicy" } as const,
      namespace: "blue",
      name: "stage-deny",
    };
    const statusOf = (o: unknown) =>
      (o as { status?: { wouldDeny?: Record<string, unknown> } }).status?.wouldDeny;
    assert.deepEqual(statusOf(await client.get(ref)), { flowLogs: 0, records: 0 });
    const revision = await h.store.revision();
    const r = records[0]!;
    const would = [
      { ...r, wouldDeny: 2, wouldDenyBy: ["blue/stage-deny"], lastSeen: r.lastSeen + 1000 },
      { ...r, wouldDeny: 1, wouldDenyBy: ["blue/stage-deny", "other"] },
      { ...r, wouldDeny: 4, wouldDenyBy: ["other"] },
    ];
    await client.postFlows("node-1", would);
    const got = statusOf(await client.get(ref));
    assert.deepEqual(got, {
      flowLogs: 3,
      records: 2,
      lastSeen: new Date(r.lastSeen + 1000).toISOString(),
    });
    const listed = await client.list({ kind: ref.kind, namespace: "blue" });
    assert.deepEqual(statusOf(listed.items[0]), got);
    // A watch shows the object as get does: its creation, sent now, carries the tally.
    const watched = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no watch event in 10 s")), 10_000);
      const w = client.watch(
        {
          kind: ref.kind,
          namespace: "blue",
          fromRevision: Number(created.metadata.resourceVersion) - 1,
        },
        {
          onEvent(e) {
            if (e.type !== "ADDED") return;
            clearTimeout(timer);
            w.stop();
            resolve(e.object);
          },
          onError: reject,
        },
      );
    });
    assert.deepEqual(statusOf(watched), got);
    assert.equal(await h.store.revision(), revision, "no write to the datastore");
    assert.equal(
      created.metadata.resourceVersion,
      (await h.store.get(ref)).metadata.resourceVersion,
    );
    assert.equal(
      ((await h.store.get(ref)) as { status?: unknown }).status,
      undefined,
      "the store has no status",
    );
  });
});

describe("alerts by selector", () => {
  it("answers alert queries by a selector over alert and flow fields, live too", async () => {
    const shipped = [
      { ...alerts[0]!, alert: "blue-ldap-violation", severity: 100 },
      { ...alerts[0]!, alert: "other", fields: { ...alerts[0]!.fields, source_namespace: "red" } },
    ];
    await client.postAlerts("node-sel", shipped);
    const selector = 'alert == "blue-ldap-violation" && severity == "100" && node == "node-sel"';
    const got = await client.alerts({ selector });
    assert.deepEqual(
      got.map((a) => a.alert),
      ["blue-ldap-violation"],
    );
    const red = await client.alerts({ selector: 'source_namespace == "red"' });
    assert.deepEqual(
      red.map((a) => a.alert),
      ["other"],
    );
    const bad = await h.request("GET", "/api/v1/alerts?selector=%3D%3D");
    assert.equal(bad.status, 400);
    const live = collect<StoredAlert>(
      (l) => client.followAlerts({ selector: 'alert == "other"' }, l),
      (items) => items.length >= 2,
    );
    await client.postAlerts("node-sel", shipped);
    assert.deepEqual(
      (await live).map((a) => a.alert),
      ["other", "other"],
    );
  });
});

/** The raw bytes of a GET as a browser asks for it (gzip accepted), undecoded. */
function rawGet(path: string): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${h.url}${path}`, { headers: { "accept-encoding": "gzip" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

describe("flow record projection and compression", () => {
  const FIELDS = "lastSeen,fields.action,fields.dest_port";

  it("fields= sends the named members alone, the id always; the same records as without", async () => {
    const whole = await client.flows();
    assert.ok(whole.length > 0);
    const got = await h.request("GET", `/api/v1/flows?fields=${FIELDS}`);
    assert.equal(got.status, 200);
    assert.deepEqual(
      got.json.items,
      whole.map((r) => ({
        id: r.id,
        lastSeen: r.lastSeen,
        fields: { action: r.fields.action, dest_port: r.fields.dest_port },
      })),
    );
    // `fields` whole keeps every flow field, whatever fields.<name> also says.
    const all = await h.request("GET", "/api/v1/flows?fields=fields,fields.action");
    assert.deepEqual(
      all.json.items,
      whole.map((r) => ({ id: r.id, fields: r.fields })),
    );
  });

  it("an unknown member is a 400 naming fields and the member", async () => {
    for (const bad of ["lastSeen,nope", "fields.nope", "fields."]) {
      const r = await h.request("GET", `/api/v1/flows?fields=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.details.causes[0].field, "fields", bad);
      assert.match(r.json.message, /unknown record member/, bad);
    }
    const live = await h.request("GET", "/api/v1/flows?follow=1&fields=nope");
    assert.equal(live.status, 400);
  });

  it("a live stream sends the projection too", async () => {
    const abort = new AbortController();
    const res = await fetch(`${h.url}/api/v1/flows?follow=1&fields=${FIELDS}`, {
      signal: abort.signal,
    });
    assert.ok(res.body);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const deadline = setTimeout(() => abort.abort(), 10_000);
    let text = "";
    try {
      while (!text.includes("event: flow")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } finally {
      clearTimeout(deadline);
      abort.abort();
    }
    const data = text.split("\n").find((l) => l.startsWith("data: "));
    assert.ok(data, text);
    const item = JSON.parse(data.slice(6));
    assert.deepEqual(Object.keys(item).sort(), ["fields", "id", "lastSeen"]);
    assert.deepEqual(Object.keys(item.fields).sort(), ["action", "dest_port"]);
  });

  it("answers are gzip for a client that accepts it, and decode to the same JSON", async () => {
    const plain = await h.request("GET", "/api/v1/flows");
    const raw = await rawGet("/api/v1/flows");
    assert.equal(raw.encoding, "gzip");
    assert.ok(
      raw.body.length < plain.text.length / 3,
      `${raw.body.length} of ${plain.text.length}`,
    );
    assert.deepEqual(JSON.parse(gunzipSync(raw.body).toString()), plain.json);
  });
});
