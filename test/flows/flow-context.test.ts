// The incremental flow context equals the one rebuilt from scratch: random churn (pods that move
// and reuse addresses, namespaces relabelled, service accounts, workload and host endpoints,
// policies, tiers, nodes, network sets), batch by batch; after each, every address's owner (as
// attribution sees it: ownerFingerprint) and the enforced program equal those of a world built
// from all the resources at once, the way the context worked before it was incremental (kept as
// bench flows' baseline, bench/flow-context-rebuild.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { RebuildingFlowContext } from "../../bench/flow-context-rebuild.ts";
import { policyId } from "../../src/engine/index.ts";
import { ownerFingerprint } from "../../src/flows/address-history.ts";
import { FlowContext } from "../../src/flows/index.ts";
import {
  type Resource,
  type ResourceEvent,
  resourceKey,
  validResource,
} from "../../src/model/index.ts";
import type { World } from "../../src/policy/index.ts";
import { ChurnGenerator, prng, type Random } from "../engine/random-cluster.ts";

const T0 = 1_800_000_000_000;
const NAMESPACES = ["ns-a", "ns-b", "ns-c"];
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Kinds ChurnGenerator does not make: what else holds addresses or shapes a holder's labels. */
function extra(r: Random, n: number): Resource {
  const roll = r();
  if (roll < 0.4) {
    return validResource({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "default",
        namespace: pick(r, NAMESPACES),
        labels: r() < 0.5 ? { tier: pick(r, ["front", "back"]) } : {},
      },
    });
  }
  if (roll < 0.7) {
    return validResource({
      apiVersion: "microseg.io/v1",
      kind: "WorkloadEndpoint",
      metadata: { name: `wep-${n % 3}`, namespace: pick(r, NAMESPACES), labels: { app: "vm" } },
      spec: { node: "node-1", ipNetworks: [`198.18.${200 + (n % 4)}.1/32`] },
    });
  }
  return validResource({
    apiVersion: "microseg.io/v1",
    kind: "HostEndpoint",
    metadata: { name: `hep-${n % 2}`, labels: { role: pick(r, ["edge", "core"]) } },
    spec: { node: "node-1", expectedIPs: [pick(r, ["198.19.0.1", "198.18.200.1", "198.18.0.3"])] },
  });
}

const programOf = (w: World) =>
  w.program.tiers.map((t) => [t.name, t.defaultAction, t.policies.map((p) => policyId(p.ref))]);

test("incremental owners and program equal the world rebuilt from scratch, batch by batch", () => {
  for (let seed = 1; seed <= 25; seed++) {
    const r = prng(seed);
    const gen = new ChurnGenerator(r);
    const extras = new Map<string, Resource>();
    const ctx = new FlowContext();
    const ref = new RebuildingFlowContext();
    const seen = new Set<string>();
    for (let step = 0; step < 60; step++) {
      const batch: ResourceEvent[] = Array.from({ length: 1 + Math.floor(r() * 3) }, () =>
        gen.next(),
      );
      if (r() < 0.3) {
        const res = extra(r, step);
        extras.set(resourceKey(res), res);
        batch.push({ type: "upsert", resource: res });
      } else if (r() < 0.1 && extras.size > 0) {
        const key = pick(r, [...extras.keys()]);
        extras.delete(key);
        batch.push({ type: "delete", key });
      }
      const time = T0 + step * 1000;
      ctx.apply(batch, time);
      ref.apply(batch, time);
      for (const ep of ref.world.cluster.endpoints) for (const a of ep.addresses) seen.add(a.text);
      const at = `seed ${seed} step ${step}`;
      for (const a of seen) {
        const got = ctx.ownerAt(a, time);
        const want = ref.ownerAt(a, time);
        assert.equal(
          got && ownerFingerprint(got),
          want && ownerFingerprint(want),
          `${at}: owner of ${a}`,
        );
      }
      assert.deepEqual(programOf(ctx.world), programOf(ref.world), `${at}: program`);
    }
  }
});

test("a pod's churn leaves the world (and the enricher's index of it) as it was", () => {
  const gen = new ChurnGenerator(prng(3));
  const ctx = new FlowContext();
  ctx.apply(
    Array.from({ length: 40 }, () => gen.next()),
    T0,
  );
  const world = ctx.world;
  const pod = validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "new", namespace: "ns-a", labels: { app: "web" } },
    spec: { nodeName: "node-1", containers: [{ name: "c" }] },
    status: { podIP: "198.18.99.1" },
  });
  const kinds = ctx.apply([{ type: "upsert", resource: pod }], T0 + 1);
  assert.deepEqual([...kinds], ["Pod"]);
  assert.equal(ctx.world, world, "no rebuild for a pod");
  assert.equal(ctx.ownerAt("198.18.99.1", T0 + 1)?.id, "ns-a/new");
  ctx.apply([{ type: "delete", key: resourceKey(pod) }], T0 + 2);
  assert.equal(ctx.world, world);
  assert.equal(ctx.ownerAt("198.18.99.1", T0 + 2), undefined, "gone after its delete");
  assert.equal(ctx.ownerAt("198.18.99.1", T0 + 1)?.id, "ns-a/new", "still its owner before");
});
