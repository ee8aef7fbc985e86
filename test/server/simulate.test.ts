// `POST /api/v1/simulate` through the real server (real SQLite store, real flow store): a change
// judged on the store's objects and the recorded flows agents shipped, the same answer as the
// offline function, nothing written; bad input is a Status naming the field.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { simulate } from "../../src/analysis/simulate.ts";
import { ApiClient, ApiError } from "../../src/client/index.ts";
import { loadManifests, type Resource, validResources } from "../../src/model/index.ts";
import { FRONTEND_ONLY } from "../analysis/changes.ts";
import { record } from "../analysis/flow-records.ts";
import { type Harness, startHarness } from "./harness.ts";

const example = join(import.meta.dirname, "../../examples/segmented-apps");

const CHANGE = FRONTEND_ONLY;

const side = (name: string, ip: string) => ({ ns: "order-input", name, ip });
const frontend = side("frontend-0", "198.18.10.10");
const creditCheck = side("creditcheck-0", "198.18.10.12");
const geoConfirm = side("geoconfirm-0", "198.18.10.14");
const now = Date.now() - 60_000;
const RECORDS = [
  record(frontend, creditCheck, 8080, "tcp", "allow", 3, now),
  record(creditCheck, geoConfirm, 8080, "tcp", "allow", 5, now),
  // Outside the window of `since=1h`:
  record(geoConfirm, creditCheck, 8080, "tcp", "allow", 2, now - 3 * 3_600_000),
];

let h: Harness;
let client: ApiClient;
let current: Resource[];

before(async () => {
  h = await startHarness();
  client = new ApiClient({ server: h.url });
  const loaded = await loadManifests([example]);
  assert.ok(loaded.ok);
  await h.store.apply(loaded.resources);
  current = [...(await h.store.snapshot()).items];
  await client.postFlows("node-1", RECORDS);
});
after(() => h?.close());

describe("POST /api/v1/simulate", () => {
  it("answers what the offline simulate does over the store and the recorded flows, writing nothing", async () => {
    const revision = await h.store.revision();
    const r = await h.request("POST", "/api/v1/simulate?since=1h", {
      body: { apiVersion: "v1", kind: "List", items: [CHANGE] },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.kind, "Simulation");
    assert.equal(r.json.revision, revision);
    assert.equal(r.json.records, 2, "only the window's records are read");
    assert.deepEqual(
      r.json.flows.newlyDenied.map((f: { from: string; to: string }) => `${f.from} -> ${f.to}`),
      ["order-input/creditcheck-0 -> order-input/geoconfirm-0"],
    );
    assert.equal(r.json.flows.newlyDenied[0].connections, 5);
    assert.equal(r.json.flows.unchanged, 1);
    assert.ok(r.json.cells.newlyDenied.length > 0);
    const offline = simulate(current, validResources([CHANGE]), RECORDS.slice(0, 2));
    assert.deepEqual(
      { flows: r.json.flows, cells: r.json.cells },
      JSON.parse(JSON.stringify(offline)),
    );
    assert.equal(await h.store.revision(), revision, "nothing was written");
  });

  it("takes an array and the client's call; a policy may name a tier the store holds", async () => {
    await h.store.apply([
      {
        apiVersion: "microseg.io/v1",
        kind: "Tier",
        metadata: { name: "security" },
        spec: { order: 100 },
      },
    ]);
    const inTier = {
      ...CHANGE,
      metadata: { name: "security.frontend-only" },
      spec: { ...CHANGE.spec, tier: "security" },
    };
    const r = await h.request("POST", "/api/v1/simulate", { body: [inTier] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.records, 3, "24h by default: the older record too");
    assert.equal(r.json.flows.newlyDenied.length, 2);
    const s = await client.simulate(validResources([CHANGE]));
    assert.equal(s.records, 3);
    assert.deepEqual(s.flows.newlyDenied.map((f) => f.from).sort(), [
      "order-input/creditcheck-0",
      "order-input/geoconfirm-0",
    ]);
  });

  it("bad input: a Status naming the field, nothing judged", async () => {
    const bad = async (path: string, body: unknown) => {
      const r = await h.request("POST", path, { body });
      assert.equal(r.json?.kind, "Status", r.text);
      return r;
    };
    const selector = await bad("/api/v1/simulate", [
      CHANGE,
      { ...CHANGE, metadata: { name: "x" }, spec: { ...CHANGE.spec, selector: 'app == "a' } },
    ]);
    assert.equal(selector.status, 422);
    assert.deepEqual(
      selector.json.details.causes.map((c: { field: string }) => c.field),
      ["items[1].spec.selector"],
    );
    const tier = await bad("/api/v1/simulate", [
      { ...CHANGE, metadata: { name: "nowhere.p" }, spec: { ...CHANGE.spec, tier: "nowhere" } },
    ]);
    assert.equal(tier.status, 422);
    assert.equal(tier.json.details.causes[0].field, "items[0].spec.tier");
    const twice = await bad("/api/v1/simulate", [CHANGE, CHANGE]);
    assert.equal(twice.status, 422);
    assert.equal(twice.json.details.causes[0].field, "items[1]");
    const kind = await bad("/api/v1/simulate", [{ apiVersion: "v1", kind: "Pdo", metadata: {} }]);
    assert.equal(kind.json.details.causes[0].field, "items[0].kind");
    const shape = await bad("/api/v1/simulate", { kind: "Pod" });
    assert.equal(shape.status, 400);
    assert.equal(shape.json.details.causes[0].field, "items");
    const since = await bad("/api/v1/simulate?since=yesterday", [CHANGE]);
    assert.equal(since.status, 400);
    assert.equal(since.json.details.causes[0].field, "since");
    await assert.rejects(
      client.simulate([], { since: "-1h" }),
      (e: unknown) => e instanceof ApiError && e.status === 400,
    );
  });
});
