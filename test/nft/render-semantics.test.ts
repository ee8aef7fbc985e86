// The rendered ruleset judges packets exactly as MemoryDataplane does: random states that use
// every field of the engine's output, each rendered in full into the fake, and random packets
// walked through the forward chain by the packet simulator.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { DEFAULT_ENFORCEMENT, NftRenderer } from "../../src/dataplane/nftables/index.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { prng } from "../engine/random-cluster.ts";
import { simulator } from "./packet-sim.ts";
import { randomDataplane, randomPacket } from "./random-dataplane.ts";

const STATES = Number(process.env.NFT_SEMANTICS_STATES ?? 300);
const PACKETS = 300;

describe("rendered rules judge packets as MemoryDataplane does", () => {
  test(`${STATES} random states x ${PACKETS} packets`, async () => {
    let judged = 0;
    for (let seed = 1; seed <= STATES; seed++) {
      const r = prng(seed);
      const { state, deltas } = randomDataplane(r);
      const memory = new MemoryDataplane();
      memory.applyDeltas(deltas);
      const fake = new MemoryNftables();
      await fake.run(new NftRenderer(DEFAULT_ENFORCEMENT).full(state));
      const judge = simulator((await fake.read("inet", "microseg"))!);
      const owner = new Map<string, string>();
      for (const e of state.endpoints.values()) for (const a of e.addresses) owner.set(a, e.id);
      for (let i = 0; i < PACKETS; i++) {
        const p = randomPacket(r);
        const self = owner.get(p.memory.source);
        // A workload talking to itself never leaves its namespace: no forward hook.
        if (self !== undefined && self === owner.get(p.memory.destination)) continue;
        const want = memory.verdict(p.memory).allowed;
        const got = judge("forward", p.sim).verdict === "accept";
        judged++;
        if (got !== want) {
          assert.fail(
            `state ${seed}: ${p.text}: MemoryDataplane ${want ? "allows" : "denies"}, ruleset ${got ? "accepts" : "drops"}`,
          );
        }
      }
    }
    assert.ok(judged > STATES * PACKETS * 0.5);
  });
});
