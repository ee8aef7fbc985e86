// The incremental engine against from-scratch computation: after every event of thousands of
// random sequences, the memory dataplane fed only deltas holds exactly the desired state, and
// its packet verdicts equal the policy evaluator's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { desiredState } from "../../src/engine/desired.ts";
import { Engine } from "../../src/engine/graph.ts";
import { parseAddress } from "../../src/net/cidr.ts";
import type { Protocol } from "../../src/policy/types.ts";
import { buildWorld } from "../../src/policy/world.ts";
import { ChurnGenerator, EXTERNAL_ADDRESSES, prng } from "./random-cluster.ts";
import { stateText } from "./state.ts";

const SEQUENCES = Number(process.env.ENGINE_PROPERTY_SEQUENCES ?? 1000);
const EVENTS = 30;
const PROBES: Array<{ port: number; protocol: Protocol }> = [
  { port: 80, protocol: "TCP" },
  { port: 53, protocol: "UDP" },
  { port: 8080, protocol: "TCP" },
];

describe("engine: incremental equals from scratch", () => {
  it(`${SEQUENCES} random sequences of ${EVENTS} events`, () => {
    let steps = 0;
    let flows = 0;
    for (let seq = 0; seq < SEQUENCES; seq++) {
      const gen = new ChurnGenerator(prng(seq + 1));
      const engine = new Engine();
      const dataplane = new MemoryDataplane();
      for (let step = 0; step < EVENTS; step++) {
        const event = gen.next();
        engine.ingest(event);
        dataplane.applyDeltas(engine.flush());
        steps++;
        const resources = [...gen.live.values()];
        const where = `sequence ${seq + 1} step ${step + 1} (${event.type} ${event.type === "upsert" ? `${event.resource.kind} ${event.resource.metadata.namespace ?? ""}/${event.resource.metadata.name}` : event.key})`;
        assert.equal(
          stateText(dataplane.state()),
          stateText(desiredState(resources)),
          `${where}: state differs`,
        );
        const world = buildWorld(resources);
        const addresses = [
          ...world.cluster.endpoints.flatMap((e) =>
            e.hostNetwork ? [] : e.addresses.map((a) => a.text),
          ),
          ...EXTERNAL_ADDRESSES,
        ];
        for (const src of addresses) {
          for (const dst of addresses) {
            for (const { port, protocol } of PROBES) {
              const expected = world.evaluator.evaluate({
                source: world.cluster.peerAt(parseAddress(src)),
                destination: world.cluster.peerAt(parseAddress(dst)),
                port,
                protocol,
              });
              const got = dataplane.verdict({ source: src, destination: dst, port, protocol });
              flows++;
              if (
                got.allowed !== expected.allowed ||
                got.egress !== expected.egress.allowed ||
                got.ingress !== expected.ingress.allowed
              ) {
                assert.fail(
                  `${where}: ${src} -> ${dst} ${port}/${protocol}: evaluator ${JSON.stringify({ allowed: expected.allowed, egress: expected.egress.allowed, ingress: expected.ingress.allowed })}, dataplane ${JSON.stringify(got)}`,
                );
              }
            }
          }
        }
      }
    }
    assert.ok(steps === SEQUENCES * EVENTS && flows > 0);
  });
});
