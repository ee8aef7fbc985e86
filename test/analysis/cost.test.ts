// The pool-model cost: the design's reference scenario (three silos, then OI(cc) to CR(cs), then
// OI(gc) to GL(im)) at 3, 5 and 7 pools and 0, 1 and 2 firewall sets, built from the example's
// own policies; the growth scenario's closed form against the computed model; microseg's side
// read from the renderer's table.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateCluster } from "../../bench/cluster-gen.ts";
import { cost, FIREWALL_LIST_LIMIT, microsegTableSize } from "../../src/analysis/cost.ts";
import { growthPoolModel, growthScenario } from "../../src/analysis/cost-growth.ts";
import { declaredPorts } from "../../src/analysis/matrix.ts";
import { loadManifests, type Resource, validResources } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/index.ts";

const EXAMPLE = join(import.meta.dirname, "../../examples/segmented-apps");

async function example(): Promise<Resource[]> {
  const loaded = await loadManifests([EXAMPLE]);
  assert.ok(loaded.ok);
  return loaded.resources;
}

const POLICY_KINDS = new Set(["GlobalNetworkPolicy", "NetworkPolicy"]);

function upTo(resources: readonly Resource[], policies: readonly string[]): Resource[] {
  return resources.filter((r) => !POLICY_KINDS.has(r.kind) || policies.includes(r.metadata.name));
}

describe("cost: the address-pool model of the user's own policies", () => {
  it("reference scenario: 3, 5, 7 pools and 0, 1, 2 firewall sets", async () => {
    const all = await example();
    const silos = ["silo-orderinput", "silo-geolocation", "silo-custrecord"];
    const steps = [
      { policies: silos, pools: 3, firewallSets: 0 },
      { policies: [...silos, "creditcheck-to-creditstatus"], pools: 5, firewallSets: 1 },
      {
        policies: [...silos, "creditcheck-to-creditstatus", "geoconfirm-to-ipmap"],
        pools: 7,
        firewallSets: 2,
      },
    ];
    for (const step of steps) {
      const c = cost(upTo(all, step.policies));
      assert.deepEqual(
        { pools: c.pools, firewallSets: c.firewallSets },
        { pools: step.pools, firewallSets: step.firewallSets },
        `with ${step.policies.join(", ")}`,
      );
      assert.equal(c.segments, 3);
      assert.equal(
        c.firewallRules,
        c.firewallList.reduce((s, f) => s + f.ports.length, 0),
      );
    }
  });

  it("the subset of creditCheck that reaches regionService splits its pool once more", async () => {
    const c = cost(await example());
    // creditcheck-0 carries region-check, creditcheck-1 does not: two pools, both reaching
    // creditStatus; regionService is a pool of its own.
    assert.equal(c.pools, 9);
    assert.equal(c.firewallSets, 4);
    const cc = c.poolList.filter((p) => p.workloads.some((w) => w.includes("creditcheck")));
    assert.deepEqual(cc.map((p) => p.workloads).sort(), [
      ["order-input/creditcheck-0"],
      ["order-input/creditcheck-1"],
    ]);
  });

  it("microseg's side is the renderer's table: sets, rules and elements grow with it", async () => {
    const all = await example();
    const small = cost(upTo(all, ["silo-orderinput"]));
    const full = cost(all);
    for (const c of [small, full]) {
      assert.ok(c.sets > 0 && c.rules > 0 && c.elements > 0, JSON.stringify(c));
    }
    assert.ok(full.sets > small.sets, "more selectors, more sets");
    assert.ok(full.rules > small.rules, "more policies, more rules");
  });

  it("pools are sized for their replicas: a Deployment of 5 needs a block of 8", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "f-0" },
      spec: {
        replicas: 5,
        selector: { matchLabels: { app: "api" } },
        template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c" }] } },
      },
    };
    const c = cost([...growthScenario(1), ...validResources([deployment])]);
    const api = c.poolList.find((p) => p.workloads.includes("f-0/deployment/api"));
    assert.ok(api, JSON.stringify(c.poolList));
    assert.deepEqual(
      { replicas: api.replicas, addresses: api.addresses },
      { replicas: 5, addresses: 8 },
    );
  });

  it("growth for N functions: N^2 pools and N^2(N-1) firewall sets, computed = closed form", () => {
    for (const n of [2, 3, 4, 5]) {
      const c = cost(growthScenario(n));
      assert.deepEqual(
        { pools: c.pools, firewallSets: c.firewallSets },
        growthPoolModel(n),
        `${n} functions`,
      );
      assert.equal(c.firewallRules, c.firewallSets, "one port each");
    }
  });

  it("pairs judged per class agree with judging every pool pair: selectors, named ports, nets", () => {
    const byAddress = validResources([
      {
        apiVersion: "microseg.io/v1",
        kind: "GlobalNetworkPolicy",
        metadata: { name: "web-out-by-address" },
        spec: {
          selector: 'component == "web"',
          types: ["Egress"],
          egress: [
            { action: "Deny", destination: { nets: ["198.18.0.0/26"] } },
            { action: "Allow", destination: { notSelector: 'component == "db"' } },
          ],
        },
      },
    ]);
    const resources = [
      ...generateCluster({ pods: 240, namespaces: 6, policies: 30, seed: 7 }),
      ...byAddress,
    ];
    const c = cost(resources);
    const world = buildWorld(resources);
    let sets = 0;
    let rules = 0;
    const listed = new Map(c.firewallList.map((f) => [`${f.from}>${f.to}`, f.ports]));
    c.poolList.forEach((from, i) => {
      const source = world.cluster.peerOf(world.cluster.endpoint(from.workloads[0]!)!);
      c.poolList.forEach((to, j) => {
        if (from.segment === to.segment) return;
        const members = to.workloads.map((id) => world.cluster.endpoint(id)!);
        const destination = world.cluster.peerOf(members[0]!);
        const allowed = declaredPorts(members).filter(
          (pp) => world.evaluator.evaluate({ source, destination, ...pp }).allowed,
        );
        if (allowed.length === 0) return;
        sets++;
        rules += allowed.length;
        assert.deepEqual(listed.get(`${i}>${j}`), allowed, `pool ${i} -> pool ${j}`);
      });
    });
    assert.ok(sets > 100, `only ${sets} firewall sets`);
    assert.deepEqual(
      { sets: c.firewallSets, rules: c.firewallRules, truncated: c.firewallListTruncated },
      { sets, rules, truncated: false },
    );
  });

  it("the firewall list stops at its limit; the counts cover every set", () => {
    const c = cost(growthScenario(22));
    assert.equal(c.firewallSets, growthPoolModel(22).firewallSets);
    assert.ok(c.firewallSets > FIREWALL_LIST_LIMIT);
    assert.equal(c.firewallList.length, FIREWALL_LIST_LIMIT);
    assert.equal(c.firewallListTruncated, true);
  });

  it("the verdict-map fast path is counted only when asked: a cache of the same verdicts", async () => {
    const all = await example();
    const policy = microsegTableSize(all);
    const fast = microsegTableSize(all, { verdictMaps: true });
    assert.ok(fast.elements > policy.elements, JSON.stringify({ policy, fast }));
  });
});
