// State-table style: the same final contents, arriving forwards, reversed or shuffled, always
// produce the desired state; deleting everything empties the dataplane.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { desiredState } from "../../src/engine/desired.ts";
import { Engine } from "../../src/engine/graph.ts";
import { type Resource, resourceKey } from "../../src/model/index.ts";
import { ChurnGenerator, prng, type Random } from "./random-cluster.ts";
import { stateText } from "./state.ts";

function shuffle<T>(xs: T[], r: Random): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function replay(resources: readonly Resource[], batch: boolean): MemoryDataplane {
  const engine = new Engine();
  const dataplane = new MemoryDataplane();
  for (const resource of resources) {
    engine.ingest({ type: "upsert", resource });
    if (!batch) dataplane.applyDeltas(engine.flush());
  }
  dataplane.applyDeltas(engine.flush());
  return dataplane;
}

describe("engine: arrival order does not matter", () => {
  for (let seed = 1; seed <= 100; seed++) {
    it(`contents of seed ${seed}`, () => {
      const gen = new ChurnGenerator(prng(seed * 7919));
      for (let i = 0; i < 40; i++) gen.next();
      const resources = [...gen.live.values()];
      const want = stateText(desiredState(resources));
      const r = prng(seed);
      const orders: Array<[string, Resource[]]> = [
        ["forwards", resources],
        ["reversed", [...resources].reverse()],
        ["shuffled", shuffle(resources, r)],
      ];
      for (const [name, order] of orders) {
        assert.equal(stateText(replay(order, false).state()), want, `${name}, one event per batch`);
        assert.equal(stateText(replay(order, true).state()), want, `${name}, one batch`);
      }
      // Deleting everything, in any order, leaves nothing behind.
      const engine = new Engine();
      const dataplane = new MemoryDataplane();
      engine.ingest(resources.map((resource) => ({ type: "upsert" as const, resource })));
      dataplane.applyDeltas(engine.flush());
      for (const resource of shuffle(resources, r)) {
        engine.ingest({ type: "delete", key: resourceKey(resource) });
        dataplane.applyDeltas(engine.flush());
      }
      const empty = dataplane.state();
      assert.deepEqual([empty.sets.size, empty.policies.size, empty.endpoints.size], [0, 0, 0]);
    });
  }
});
