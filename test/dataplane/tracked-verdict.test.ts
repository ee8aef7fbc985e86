// The revocation judge of tracked connections (src/dataplane/memory/tracked-verdict.ts) on an
// engine's state: the node's own traffic meets its host endpoint's stages and normal policy
// (failsafe ports never), forwarded traffic the stages of the host endpoint it crosses and the
// workload's own policy, pre-DNAT policy the address before DNAT.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { trackedAllowed } from "../../src/dataplane/memory/tracked-verdict.ts";
import type { EndpointToHostAction } from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import { validResource } from "../../src/model/index.ts";
import { denyTcp, edgeHost, edgePod, edgePolicy, up } from "../policy/host-stage-fixtures.ts";

const NODE = "198.19.0.1";
const POD = "198.18.0.1";
const OUTSIDE = "198.18.9.9";
const OTHER_NODE_ADDRESS = "198.19.0.5";
const node = (endpointToHost: EndpointToHostAction) => ({
  failsafe: (side: "in" | "out", _p: unknown, port: number) => side === "in" && port === 22,
  nodeAddress: (a: string) => a === "127.0.0.1" || a === OTHER_NODE_ADDRESS,
  endpointToHost,
});
const shopPolicy = (spec: Record<string, unknown>) =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "shop" },
    spec: { order: 0, selector: "all()", ...spec },
  });

function judgeOf(interfaces: Map<string, string[]>, ...extra: ReturnType<typeof validResource>[]) {
  return judgeWith("Drop", interfaces, ...extra);
}

function judgeWith(
  endpointToHost: EndpointToHostAction,
  interfaces: Map<string, string[]>,
  ...extra: ReturnType<typeof validResource>[]
) {
  const engine = new Engine({ node: "node-1" });
  engine.setHostInterfaces(interfaces);
  engine.ingest(
    [
      edgeHost(null),
      edgePod,
      validResource({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "shop" },
      }),
      edgePolicy("normal", {
        order: 1,
        types: ["Ingress"],
        ingress: [denyTcp(8081), { action: "Allow" }],
      }),
      edgePolicy("pre", { preDNAT: true, applyOnForward: true, ingress: [denyTcp(9090)] }),
      edgePolicy("fwd", {
        applyOnForward: true,
        order: 5,
        ingress: [denyTcp(81), { action: "Allow" }],
      }),
      ...extra,
    ].map(up),
  );
  const judge = new MemoryDataplane();
  judge.applyDeltas(engine.flush());
  return (source: string, destination: string, port: number, replySource?: string) =>
    trackedAllowed(
      judge,
      { source, destination, protocol: "TCP", port, ...(replySource ? { replySource } : {}) },
      node(endpointToHost),
    );
}

describe("tracked connections judged as new", () => {
  const bound = new Map([["eth0", [NODE]]]);

  it("the node's own: normal policy and pre-DNAT deny, a failsafe port never", () => {
    const allowed = judgeOf(bound);
    assert.equal(allowed(OUTSIDE, NODE, 8081), false, "normal Deny");
    assert.equal(allowed(OUTSIDE, NODE, 9090), false, "pre-DNAT Deny");
    assert.equal(allowed(OUTSIDE, NODE, 8083), true);
    assert.equal(allowed(OUTSIDE, NODE, 22), true, "failsafe");
  });

  it("forwarded: the forward stage, pre-DNAT on the address before DNAT, then the workload", () => {
    const allowed = judgeOf(bound);
    assert.equal(allowed(OUTSIDE, POD, 81), false, "forward ingress Deny");
    assert.equal(allowed(OUTSIDE, POD, 80), true);
    assert.equal(allowed(OUTSIDE, NODE, 9090, POD), false, "DNAT'd: pre-DNAT judges node:9090");
    // The pod's own policy (first in its tier) denies 80: so does the judge, stages aside.
    const closed = judgeOf(bound, shopPolicy({ types: ["Ingress"], ingress: [denyTcp(80)] }));
    assert.equal(closed(OUTSIDE, POD, 80), false);
  });

  it("the node's own traffic on an address no host endpoint holds is left alone", () => {
    const allowed = judgeOf(bound);
    // The forward stage's tier ends in Deny: it must not judge what is not forwarded.
    assert.equal(allowed("127.0.0.1", "127.0.0.1", 81), true, "loopback");
    assert.equal(allowed(OUTSIDE, OTHER_NODE_ADDRESS, 81), true, "another node address");
    assert.equal(allowed(OUTSIDE, "198.18.7.7", 81), false, "forwarded between outsiders");
  });

  it("a host endpoint bound to its address (no interface holds it) has no forward stage", () => {
    const allowed = judgeOf(new Map());
    assert.equal(allowed(OUTSIDE, NODE, 9090), false, "pre-DNAT to its address");
    assert.equal(allowed(OUTSIDE, POD, 81), true, "no forward stage until bound");
  });

  it("a local workload to the node: its egress policy, then the endpoint-to-host action", () => {
    const dropped = judgeWith("Drop", bound);
    assert.equal(dropped(POD, OTHER_NODE_ADDRESS, 80), false, "Drop: to a node address");
    assert.equal(dropped(POD, NODE, 80), false, "Drop: to a host endpoint's address");
    assert.equal(dropped(POD, NODE, 22), false, "a failsafe port is not for workloads");
    const accepted = judgeWith("Accept", bound);
    assert.equal(accepted(POD, OTHER_NODE_ADDRESS, 81), true, "no forward stage on the way");
    assert.equal(accepted(POD, NODE, 8081), true, "Accept: the host endpoint's policy not met");
    const egressDenied = shopPolicy({ types: ["Egress"], egress: [denyTcp(80)] });
    assert.equal(judgeWith("Accept", bound, egressDenied)(POD, NODE, 80), false, "egress Deny");
    const returned = judgeWith("Return", bound);
    assert.equal(returned(POD, NODE, 8081), false, "Return: the host endpoint's ingress Deny");
    assert.equal(returned(POD, NODE, 8083), true);
    assert.equal(returned(POD, OTHER_NODE_ADDRESS, 8081), true, "no host endpoint holds it");
  });

  it("the node to a local workload: the workload's ingress, no stage, no failsafe port", () => {
    const allowed = judgeOf(bound, shopPolicy({ types: ["Ingress"], ingress: [denyTcp(80)] }));
    assert.equal(allowed(OTHER_NODE_ADDRESS, POD, 80), false, "the workload's ingress Deny");
    assert.equal(allowed(NODE, POD, 80), false, "from a host endpoint's address too");
    assert.equal(allowed(OTHER_NODE_ADDRESS, POD, 81), true, "the forward stage is not crossed");
    assert.equal(allowed(OUTSIDE, POD, 81), false, "what is forwarded meets it");
  });
});
