// The kernel holds what the fake holds: rendered tables (random states using every rule shape,
// then engine churn applied batch by batch) read back from the real nft equal the fake's dump,
// so drift checks compare like with like and report nothing on a faithful table.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkDrift,
  DEFAULT_ENFORCEMENT,
  NftRenderer,
} from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { DpTierRef, EndpointId } from "../../src/engine/index.ts";
import { dumpSorted, MemoryNftables } from "../../src/nft/index.ts";
import { ChurnGenerator, prng } from "../engine/random-cluster.ts";
import { kernelInTestNetns } from "./kernel-netns.ts";
import { rootSkipReason } from "./needs-root.ts";
import { randomDataplane } from "./random-dataplane.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["veth*", "ms-*"] };

describe("rendered tables in the kernel", { skip: rootSkipReason() }, () => {
  const netns = kernelInTestNetns();
  const liveDump = async () => dumpSorted((await netns.kernel.read("inet", cfg.table))!);

  test("40 random states: the kernel reads back what the fake holds", async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { state } = randomDataplane(prng(seed));
      const tx = new NftRenderer(cfg).full(state);
      const fake = new MemoryNftables();
      await fake.run(tx);
      await netns.kernel.run(tx);
      assert.equal(await liveDump(), fake.dump(), `state ${seed}`);
      const drift = await checkDrift(netns.kernel, cfg, state);
      assert.ok(drift.inSync, `state ${seed}: ${JSON.stringify(drift.objects)}`);
    }
  });

  test("a host endpoint on every interface (*) with every stage reads back as rendered", async () => {
    const { state } = randomDataplane(prng(7));
    const host = state.endpoints.get("node-eth" as EndpointId)!;
    const tier: DpTierRef[] = [
      { name: "t1", defaultAction: "Deny", policies: [[...state.policies.keys()][0]!] },
    ];
    const stages = {
      interfaces: ["*"],
      untracked: { ingress: tier, egress: tier },
      preDNAT: tier,
      forward: { ingress: tier, egress: tier },
    };
    const endpoints = new Map(state.endpoints).set(host.id, { ...host, hostStages: stages });
    const starred = { ...state, endpoints };
    const tx = new NftRenderer(cfg).full(starred);
    assert.match(tx.toString(), /meta iifname != "lo" meta iifname != "veth\*"/);
    assert.match(tx.toString(), /notrack accept/);
    await netns.kernel.run(tx);
    const drift = await checkDrift(netns.kernel, cfg, starred);
    assert.ok(drift.inSync, JSON.stringify(drift.objects));
  });

  test("engine churn, batch by batch, leaves the kernel equal to the fake", async () => {
    for (let seq = 1; seq <= 10; seq++) {
      const r = prng(1000 + seq);
      const gen = new ChurnGenerator(r);
      const engine = new Engine({ node: "node-1" });
      const renderer = new NftRenderer(cfg);
      const fake = new MemoryNftables();
      const first = renderer.full(engine.state());
      await fake.run(first);
      await netns.kernel.run(first);
      for (let step = 0; step < 40; step++) {
        engine.ingest([gen.next(), gen.next()]);
        const tx = renderer.update(engine.flush());
        await fake.run(tx);
        await netns.kernel.run(tx);
      }
      assert.equal(await liveDump(), fake.dump(), `sequence ${seq}`);
    }
  });
});
