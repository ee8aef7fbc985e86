// Incremental rendering equals full rendering: random engine churn, each batch's deltas applied
// to the fake as one transaction, must leave exactly the table a full render of the engine's
// state gives, after every batch. And the table's verdicts equal MemoryDataplane's on the way.
// Odd sequences learn rule handles after each commit, so chains are edited in place (the rules
// after the first change deleted by handle, the new tail appended); even ones never do, so
// chains are rewritten whole.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import {
  DEFAULT_ENFORCEMENT,
  learnRuleHandles,
  NftRenderer,
} from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { ChurnGenerator, EXTERNAL_ADDRESSES, prng } from "../engine/random-cluster.ts";
import { simulator } from "./packet-sim.ts";

const SEQUENCES = Number(process.env.NFT_INCREMENTAL_SEQUENCES ?? 200);
const EVENTS = 30;
const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["veth*"] };

async function fullDump(engine: Engine): Promise<string> {
  const fake = new MemoryNftables();
  await fake.run(new NftRenderer(cfg).full(engine.state()));
  return fake.dump();
}

const describeEvent = (e: ResourceEvent) =>
  e.type === "upsert"
    ? `upsert ${e.resource.kind} ${e.resource.metadata.namespace ?? ""}/${e.resource.metadata.name}`
    : `delete ${e.key}`;

describe("incremental rendering equals the full render of the final state", () => {
  test(`${SEQUENCES} random sequences of ${EVENTS} events, batches of 1-3`, async () => {
    let batches = 0;
    /** Rules deleted by handle: only in-place edits (odd sequences) write them. */
    let deletedRules = 0;
    for (let seq = 1; seq <= SEQUENCES; seq++) {
      const r = prng(seq);
      const gen = new ChurnGenerator(r);
      const engine = new Engine({ node: "node-1" });
      const memory = new MemoryDataplane();
      const renderer = new NftRenderer(cfg);
      const fake = new MemoryNftables();
      const inPlace = seq % 2 === 1;
      const learn = () => (inPlace ? learnRuleHandles(fake, cfg.table, renderer) : undefined);
      await fake.run(renderer.full(engine.state()));
      await learn();
      for (let step = 0; step < EVENTS; ) {
        const size = 1 + Math.floor(r() * 3);
        const events = Array.from({ length: size }, () => gen.next());
        step += size;
        engine.ingest(events);
        const deltas = engine.flush();
        memory.applyDeltas(deltas);
        const where = `sequence ${seq} step ${step} (${events.map(describeEvent).join(", ")})`;
        const tx = renderer.update(deltas);
        await fake.run(tx).catch((e: Error) => {
          assert.fail(`${where}: the incremental transaction fails: ${e.message}\n${tx}`);
        });
        await learn();
        deletedRules += tx.commands.filter(
          (c) => c.verb === "delete" && c.object.kind === "rule",
        ).length;
        assert.equal(fake.dump(), await fullDump(engine), `${where}: incremental != full`);
        batches++;
        const judge = simulator((await fake.read("inet", "microseg"))!);
        const addresses = [
          ...[...engine.state().endpoints.values()].flatMap((e) => e.addresses),
          ...[...gen.live.values()].flatMap((res) =>
            res.kind === "Pod" ? [String((res.status as { podIP: string }).podIP)] : [],
          ),
          ...EXTERNAL_ADDRESSES,
        ];
        for (let i = 0; i < 20; i++) {
          const source = addresses[Math.floor(r() * addresses.length)]!;
          const destination = addresses[Math.floor(r() * addresses.length)]!;
          if (source === destination) continue;
          const [protocol, l4proto, port] = i % 2 ? ["UDP", 17, 53] : ["TCP", 6, i % 3 ? 80 : 8080];
          const want = memory.verdict({
            source,
            destination,
            protocol: protocol as "TCP",
            port: port as number,
            sourcePort: 40000,
          }).allowed;
          const got =
            judge("forward", {
              family: 4,
              saddr: source,
              daddr: destination,
              l4proto: l4proto as number,
              sport: 40000,
              dport: port as number,
            }).verdict === "accept";
          assert.equal(got, want, `${where}: ${source} -> ${destination} ${port}/${protocol}`);
        }
      }
    }
    assert.ok(batches > SEQUENCES * 5);
    assert.ok(deletedRules > 0, "no chain was ever edited in place");
  });
});
