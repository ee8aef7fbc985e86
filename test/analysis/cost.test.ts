// The pool-model cost: the design's reference scenario (three silos, then OI(cc) to CR(cs), then
// OI(gc) to GL(im)) at 3, 5 and 7 pools and 0, 1 and 2 firewall sets, built from the example's
// own policies; the growth scenario's closed form against the computed model; microseg's side
// read from the renderer's table.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cost } from "../../src/analysis/cost.ts";
import { growthPoolModel, growthScenario } from "../../src/analysis/cost-growth.ts";
import { loadManifests, type Resource, validResources } from "../../src/model/index.ts";

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
});
