// Who holds each local address, read back from a rendered table and computed from the state
// rendered, must say the same (a restarted agent compares the two to find the addresses that
// changed hands while no agent ran): over random churn, each full render read back from the
// fake. Then what counts as changing hands, and the state without some addresses.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  changedHands,
  DEFAULT_ENFORCEMENT,
  endpointChain,
  NftRenderer,
  stateHolders,
  tableHolders,
  withoutAddresses,
} from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { DataplaneState, DpEndpoint, EndpointId } from "../../src/engine/index.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { ChurnGenerator, prng } from "../engine/random-cluster.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["cali*"] };

async function rendered(state: DataplaneState) {
  const fake = new MemoryNftables();
  await fake.run(new NftRenderer(cfg).full(state));
  return (await fake.read("inet", cfg.table))!;
}

const endpoint = (
  id: string,
  addresses: string[],
  iface?: string,
  ingress: DpEndpoint["ingress"] = [],
): DpEndpoint => ({
  id: id as EndpointId,
  kind: iface ? "workload" : "host",
  addresses,
  ...(iface ? { interfaceName: iface } : {}),
  ingress,
  egress: [],
});
const denyTier = [{ name: "default", defaultAction: "Deny" as const, policies: [] }];
const stateOf = (...endpoints: DpEndpoint[]): DataplaneState => ({
  sets: new Map(),
  policies: new Map(),
  endpoints: new Map(endpoints.map((e) => [e.id, e])),
});

describe("address holders", () => {
  test("read from the table equal those of the state rendered, over random churn", async () => {
    let compared = 0;
    for (let seq = 1; seq <= 20; seq++) {
      const gen = new ChurnGenerator(prng(seq));
      const engine = new Engine({ node: "node-1", podInterfacePrefix: "cali" });
      for (let step = 0; step < 15; step++) {
        engine.ingest([gen.next(), gen.next()]);
        engine.flush();
        const state = engine.state();
        const want = stateHolders(state);
        assert.deepEqual(tableHolders(await rendered(state)), want, `sequence ${seq} step ${step}`);
        compared += want.size;
      }
    }
    assert.ok(compared > 100, `${compared} holders compared`);
  });

  test("IPv6 addresses compare in canonical form, whoever wrote them", () => {
    const state = stateOf(endpoint("a", ["FD00:0:0::5"], "cali1"));
    assert.deepEqual([...stateHolders(state).keys()], ["fd00::5"]);
  });

  test("an address changes hands when its endpoint, its interface or its holding goes", async () => {
    const before = tableHolders(
      await rendered(
        stateOf(
          endpoint("kept", ["198.18.0.1"], "cali1"),
          endpoint("moved", ["198.18.0.2"], "cali2"),
          endpoint("replaced", ["198.18.0.3", "fd00::3"], "cali3"),
          endpoint("gone", ["198.18.0.4"], "cali4"),
          endpoint("host", ["198.18.0.5"]),
        ),
      ),
    );
    const after = stateHolders(
      stateOf(
        endpoint("kept", ["198.18.0.1"], "cali1"),
        endpoint("moved", ["198.18.0.2"], "cali9"),
        endpoint("newcomer", ["198.18.0.3", "fd00::3"], "cali3", denyTier),
        endpoint("host", ["198.18.0.5"]),
      ),
    );
    assert.deepEqual(changedHands(before, after).sort(), [
      "198.18.0.2",
      "198.18.0.3",
      "198.18.0.4",
      "fd00::3",
    ]);
  });

  test("an address changes hands between endpoints sharing a chain, on the same interface", async () => {
    const old = endpoint("old", ["198.18.0.3"], "cali3");
    const taker = endpoint("new", ["198.18.0.3"], "cali3");
    assert.equal(endpointChain(taker, "ingress"), endpointChain(old, "ingress"));
    const before = tableHolders(await rendered(stateOf(old)));
    assert.deepEqual(changedHands(before, stateHolders(stateOf(taker))), ["198.18.0.3"]);
    assert.deepEqual(changedHands(before, stateHolders(stateOf(old))), []);
  });

  test("an endpoint whose policies changed keeps its address (another chain, the same holder)", async () => {
    const old = endpoint("kept", ["198.18.0.3"], "cali3");
    const changed = endpoint("kept", ["198.18.0.3"], "cali3", denyTier);
    assert.notEqual(endpointChain(changed, "ingress"), endpointChain(old, "ingress"));
    const before = tableHolders(await rendered(stateOf(old)));
    assert.deepEqual(changedHands(before, stateHolders(stateOf(changed))), []);
  });

  test("without some addresses, a render holds none of them and every other", async () => {
    const state = stateOf(
      endpoint("a", ["198.18.0.1", "fd00::1"], "cali1"),
      endpoint("b", ["198.18.0.2"], "cali2"),
    );
    const holders = tableHolders(
      await rendered(withoutAddresses(state, ["fd00::1", "198.18.0.2"])),
    );
    assert.deepEqual([...holders.keys()], ["198.18.0.1"]);
  });
});
