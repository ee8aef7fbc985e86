// The analysis bars against the kernel, on recorded flows: a lab of the segmented-apps example
// whose pods follow a real API server's store and whose node agents enforce what it holds and
// capture flows with ulogd2, shipping their records to the server's flow store. Simulate and
// recommend read those records back through `GET /api/v1/flows`. The flows simulate predicts
// as newly denied (and newly allowed) are exactly those the kernel denies (allows) once the
// change is applied; promoted recommendations allow every observed flow and deny every other
// probed pair.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { observedFlows } from "../../src/analysis/flow-replay.ts";
import { recommend } from "../../src/analysis/recommend.ts";
import { simulate } from "../../src/analysis/simulate.ts";
import { promote } from "../../src/analysis/staged.ts";
import { ApiClient } from "../../src/client/index.ts";
import { type Datastore, openDatastore } from "../../src/datastore/index.ts";
import type { FlowRecord } from "../../src/flows/index.ts";
import {
  Lab,
  LabStoreFollower,
  labSpecFromManifests,
  type ProbeSpec,
} from "../../src/lab/index.ts";
import { loadManifests, type Resource, validResources } from "../../src/model/index.ts";
import { buildWorld, type Endpoint } from "../../src/policy/index.ts";
import { type RunningServer, startServer } from "../../src/server/index.ts";
import { waitEnforced } from "../../src/up/index.ts";
import { probeExpecting } from "../lab/expect-cells.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { FRONTEND_ONLY } from "./changes.ts";

const example = join(import.meta.dirname, "../../examples/segmented-apps");
const PORT = 8080;
const POLICY_KINDS = new Set(["GlobalNetworkPolicy", "NetworkPolicy", "StagedNetworkPolicy"]);

const cellName = (c: { from: string; to: string; port: number; protocol: string | number }) =>
  `${c.from} -> ${c.to} ${c.port}/${c.protocol}`;

const CHANGE = validResources([FRONTEND_ONLY]);

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("simulate and recommend on the lab's recorded flows", {
  skip: rootSkipReason(),
  timeout: 300_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "microseg-analysis-lab-"));
  let store: Datastore;
  let server: RunningServer;
  let client: ApiClient;
  let lab: Lab;
  let follower: LabStoreFollower;
  let allCells: ProbeSpec[];
  /** The store's objects and what the agents recorded of one probe of every pair under them. */
  let before0: Resource[];
  let recorded: FlowRecord[];
  let allowed0: Set<string>;

  const current = async () => [...(await store.snapshot()).items] as Resource[];

  /** Probes every pair against the model's verdict; the cells the kernel let through. */
  async function allowedNow(resources: readonly Resource[]): Promise<Set<string>> {
    const world = buildWorld(resources);
    const expected = allCells.map((c) => ({
      ...c,
      expected: world.evaluator.evaluate({
        source: world.cluster.peerOf(world.cluster.endpoint(c.from)!),
        destination: world.cluster.peerOf(world.cluster.endpoint(c.to)!),
        port: c.port,
        protocol: c.protocol,
      }).allowed,
    }));
    // A slow allowed probe is retried before it counts as denied.
    const { wrong } = await probeExpecting(lab, expected);
    assert.deepEqual(wrong, [], "the lab enforces what the model says");
    return new Set(expected.filter((c) => c.expected).map(cellName));
  }

  /** Everything the kernel recorded since `since`, once every probed cell's record is in. */
  function recordsOf(since: number, allowed: Set<string>): Promise<FlowRecord[]> {
    return until("the probes' flow records in the API", async () => {
      const records = await client.flows({ since: String(since), limit: 100_000 });
      // Complete when an allowed cell's destination reported it and a denied cell's deny is in.
      const flows = new Map(observedFlows(records).map((o) => [cellName(o), o]));
      const complete = allCells.every((c) => {
        const o = flows.get(cellName(c));
        return allowed.has(cellName(c)) ? o?.delivered : o?.actions.includes("deny");
      });
      return complete ? records : undefined;
    });
  }

  before(async () => {
    store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
    server = await startServer({ store, port: 0 });
    client = new ApiClient({ server: server.url });
    const loaded = await loadManifests([example]);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
    await store.apply(loaded.resources);
    const spec = labSpecFromManifests(await current(), { nodes: ["node-1", "node-2"] });
    lab = await Lab.up(spec, {
      id: `an${randomBytes(3).toString("hex")}`,
      stateDir: join(dir, "lab"),
      server: { url: server.url },
      agents: { flowInterval: "1s" },
    });
    follower = new LabStoreFollower(lab, store);
    await follower.start();
    await waitEnforced(lab, client, 60_000);
    const ids = lab.plan.pods.map((p) => p.name).sort();
    allCells = ids.flatMap((from) =>
      ids
        .filter((to) => to !== from)
        .map((to) => ({ from, to, port: PORT, protocol: "TCP" as const })),
    );
    before0 = await current();
    const since = Date.now() - 1000;
    allowed0 = await allowedNow(before0);
    recorded = await recordsOf(since, allowed0);
  });
  after(async () => {
    await follower?.stop();
    lab?.down();
    await server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the recorded flows simulate calls newly denied are exactly those the kernel denies after", async (t) => {
    const s = simulate(before0, CHANGE, recorded);
    const observed = observedFlows(recorded).map(cellName);
    const probed = new Set(allCells.map(cellName));
    assert.deepEqual(
      [...probed].filter((c) => !observed.includes(c)),
      [],
      "every probed pair was recorded",
    );
    // Traffic the probes did not ask for (a late retransmission logged as a flow of its own,
    // say) is recorded too; it is judged like the rest, and named here for the record.
    const extra = observed.filter((c) => !probed.has(c));
    if (extra.length) t.diagnostic(`recorded beyond the probes: ${extra.join(", ")}`);
    const predicted = new Set(s.flows.newlyDenied.map(cellName));
    const predictedAllowed = new Set(s.flows.newlyAllowed.map(cellName));
    assert.ok(predicted.size > 5, `the change denies some recorded flows (${predicted.size})`);
    assert.equal(s.flows.unjudged, 0, "every recorded side is a workload of the store");
    assert.equal(
      s.flows.newlyDenied.length + s.flows.newlyAllowed.length + s.flows.unchanged,
      observed.length,
      "every recorded flow was judged",
    );

    await store.apply(CHANGE);
    await waitEnforced(lab, client, 60_000);
    const allowedAfter = await allowedNow(await current());
    const deniedByKernel = [...allowed0].filter((c) => !allowedAfter.has(c));
    const allowedByKernel = [...allowedAfter].filter((c) => !allowed0.has(c));
    assert.deepEqual(deniedByKernel.sort(), [...predicted].sort());
    assert.deepEqual(allowedByKernel.sort(), [...predictedAllowed].sort());
  });

  test("promoted recommendations allow every observed flow and deny every other probed pair", async () => {
    const world = buildWorld(before0);
    // Observed: what frontends and creditCheck did; the rest of the traffic never happened.
    const observed = recorded.filter((r) => /^(frontend|creditcheck)-/.test(r.fields.source_name));
    const delivered = observedFlows(observed).filter((o) => o.delivered);
    assert.ok(delivered.length > 5, `only ${delivered.length} observed flows went through`);
    const workloads = before0.filter((r) => !POLICY_KINDS.has(r.kind));
    const staged = recommend(workloads, observed);
    assert.ok(staged.every((p) => p.kind === "StagedNetworkPolicy"));

    const now = await current();
    for (const r of now.filter((o) => POLICY_KINDS.has(o.kind)))
      await store.delete({
        kind: r,
        name: r.metadata.name,
        ...(r.metadata.namespace ? { namespace: r.metadata.namespace } : {}),
      });
    await store.apply(staged.map(promote));
    await waitEnforced(lab, client, 60_000);

    // Owners: replicas with the same labels are one group, so what one did the other may do.
    const groupOf = (e: Endpoint) =>
      `${e.namespace}/${JSON.stringify(
        Object.entries(e.labels)
          .filter(([k]) => !/^(projectcalico\.org\/|pcns\.|pcsa\.)/.test(k))
          .sort(),
      )}`;
    const group = (id: string) => groupOf(world.cluster.endpoint(id)!);
    const seen = new Set(delivered.map((c) => `${group(c.from)} -> ${group(c.to)}`));
    const expected = allCells.map((c) => ({
      ...c,
      expected: seen.has(`${group(c.from)} -> ${group(c.to)}`),
    }));
    assert.ok(
      expected.some((c) => !c.expected),
      "some pairs were never seen",
    );
    for (const o of delivered)
      assert.ok(
        expected.some((c) => cellName(c) === cellName(o) && c.expected),
        `${cellName(o)} observed`,
      );
    const { wrong } = await probeExpecting(lab, expected);
    assert.deepEqual(wrong, []);
  });
});
