// The engine's host endpoint stages equal the from-scratch reference (desiredState) as stage
// policies, the host endpoint and workloads come and go; workloads never get stages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { desiredState } from "../../src/engine/desired.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, resourceKey, validResource } from "../../src/model/index.ts";
import { down, edgeHost, edgePod, edgePolicy, up } from "../policy/host-stage-fixtures.ts";
import { stateText } from "./state.ts";

const tier = validResource({
  apiVersion: "microseg.io/v1",
  kind: "Tier",
  metadata: { name: "edge" },
  spec: { order: 100 },
});
const untracked = edgePolicy("untracked", {
  tier: "edge",
  doNotTrack: true,
  applyOnForward: true,
  ingress: [{ action: "Deny" }],
  egress: [{ action: "Allow" }],
});
const pre = edgePolicy("pre", {
  preDNAT: true,
  applyOnForward: true,
  ingress: [{ action: "Allow" }],
});
const fwd = edgePolicy("fwd", { applyOnForward: true, types: ["Ingress", "Egress"] });
const normal = edgePolicy("normal", { ingress: [{ action: "Allow" }] });

describe("engine: host endpoint stages", () => {
  it("equal the from-scratch state after every step", () => {
    const engine = new Engine({ node: "node-1" });
    const live = new Map<string, Resource>();
    const steps: ResourceEvent[][] = [
      [up(tier), up(edgePod), up(edgeHost())],
      [up(untracked)],
      [up(pre), up(fwd), up(normal)],
      [down(untracked)],
      [up(untracked), down(pre)],
      [down(edgeHost())],
      [up(edgeHost())],
    ];
    for (const [i, events] of steps.entries()) {
      for (const e of events) {
        if (e.type === "upsert") live.set(resourceKey(e.resource), e.resource);
        else live.delete(e.key);
      }
      engine.ingest(events);
      engine.flush();
      const state = engine.state();
      assert.equal(
        stateText(state),
        stateText(desiredState([...live.values()], "node-1")),
        `step ${i}`,
      );
      const web = [...state.endpoints.values()].find((e) => e.kind === "workload");
      assert.equal(web?.hostStages, undefined, "workloads get no stages");
    }
    const host = engine.state().endpoints.get("node-1-eth0" as never)!;
    assert.equal(host.hostStages?.untracked.ingress[0]?.defaultAction, "Pass", "stage tiers Pass");
    assert.equal(host.hostStages?.forward.ingress[0]?.defaultAction, "Deny");
    // Normal tiers hold the normal policies only (fwd applies to the host's own traffic too).
    const normalIds = host.ingress.flatMap((t) => t.policies);
    assert.equal(normalIds.length, 2, JSON.stringify(normalIds));
    assert.ok(
      normalIds.every((id) => !/untracked|pre/.test(id)),
      JSON.stringify(normalIds),
    );
  });

  it("binds a host endpoint found by its expectedIPs to the interfaces holding them", () => {
    const engine = new Engine({ node: "node-1" });
    const live = [tier, edgePod, edgeHost(null), untracked, fwd];
    engine.ingest(live.map(up));
    const steps: Array<[Map<string, string[]>, string[]]> = [
      [new Map(), []],
      [new Map([["eth1", ["198.19.0.1"]]]), ["eth1"]],
      [
        new Map([
          ["eth1", ["198.19.0.7"]],
          ["eth2", ["198.19.0.1"]],
          ["eth3", ["198.19.0.1"]],
        ]),
        ["eth2", "eth3"],
      ],
      [new Map([["eth1", ["198.19.0.7"]]]), []],
    ];
    for (const [interfaces, want] of steps) {
      engine.setHostInterfaces(interfaces);
      engine.flush();
      const host = engine.state().endpoints.get("node-1-eth0" as never)!;
      assert.deepEqual(host.hostStages?.interfaces, want);
      assert.equal(
        stateText(engine.state()),
        stateText(desiredState(live, "node-1", undefined, interfaces)),
      );
    }
  });
});
