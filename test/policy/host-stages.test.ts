// Host endpoint stages offline (Calico's order on a host endpoint's own traffic): untracked
// policy, then pre-DNAT (ingress), then normal policy; an Allow in a stage skips the later ones,
// stage tiers end in Pass, and neither stage ever applies to a workload.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeIn } from "../../src/analysis/describe.ts";
import { formatDescription } from "../../src/analysis/describe-text.ts";
import { explainFlow } from "../../src/analysis/explain.ts";
import { validResources } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/world.ts";
import { namespace, pod } from "./fixtures.ts";
import { edgeHost, edgePolicy } from "./host-stage-fixtures.ts";

const hep = edgeHost();
/** These policies select the workloads too, unless they say otherwise. */
const gnp = (name: string, spec: Record<string, unknown>) =>
  edgePolicy(name, { selector: "role == 'edge' || app == 'web'", ...spec });
/** The normal policy locks the node: only 8081 in, nothing out. */
const lock = gnp("lock", {
  selector: "role == 'edge'",
  order: 10,
  types: ["Ingress", "Egress"],
  ingress: [
    { action: "Allow", protocol: "TCP", destination: { ports: [8081] } },
    { action: "Deny" },
  ],
  egress: [{ action: "Deny" }],
});
const untracked = gnp("untracked", {
  doNotTrack: true,
  applyOnForward: true,
  order: 10,
  ingress: [
    {
      action: "Allow",
      protocol: "TCP",
      source: { nets: ["198.18.1.1/32"] },
      destination: { ports: [8080] },
    },
    {
      action: "Deny",
      protocol: "TCP",
      source: { nets: ["198.18.1.2/32"] },
      destination: { ports: [8080, 8081] },
    },
  ],
  egress: [{ action: "Allow", protocol: "TCP", source: { ports: [8080] } }],
});
const preDnat = gnp("pre", {
  preDNAT: true,
  applyOnForward: true,
  ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [9090] } }],
});
/** Forwarded traffic: B may not reach port 81 behind the node, nor be reached on 80. */
const forward = gnp("fwd", {
  selector: "role == 'edge'",
  applyOnForward: true,
  order: 20,
  types: ["Ingress", "Egress"],
  ingress: [
    {
      action: "Deny",
      protocol: "TCP",
      source: { nets: ["198.18.1.2/32"] },
      destination: { ports: [81] },
    },
    { action: "Allow" },
  ],
  egress: [
    { action: "Deny", protocol: "TCP", destination: { nets: ["198.18.1.2/32"], ports: [80] } },
    { action: "Allow" },
  ],
});
const web = pod("shop/web", "198.18.0.1", { app: "web" });
(web.spec as Record<string, unknown>).nodeName = "node-1";
/** On a node without host endpoints: nothing but its own policy is crossed. */
const far = pod("shop/far", "198.18.0.2", { app: "web" });
(far.spec as Record<string, unknown>).nodeName = "node-2";

const world = buildWorld(
  validResources([namespace("shop"), web, far, hep, lock, untracked, preDnat, forward] as never[]),
);
const explain = (from: string, to: string, port: number) =>
  explainFlow(world, { from, to, port, protocol: "TCP" });

describe("host endpoint stages offline", () => {
  it("an untracked Allow decides the host endpoint's ingress before normal policy", () => {
    const e = explain("198.18.1.1", "node-1-eth0", 8080);
    assert.equal(e.ingress.allowed, true);
    assert.equal(e.ingress.stage, "untracked");
    assert.match(
      e.ingress.reason,
      /GlobalNetworkPolicy untracked, rule 0 \(untracked policy \(doNotTrack\): raw prerouting/,
    );
  });

  it("an untracked Deny drops what normal policy would allow", () => {
    const e = explain("198.18.1.2", "node-1-eth0", 8081);
    assert.equal(e.ingress.allowed, false);
    assert.equal(e.ingress.stage, "untracked");
  });

  it("no stage rule matching passes on to pre-DNAT, then normal policy (no default drop)", () => {
    const pre = explain("198.18.1.3", "node-1-eth0", 9090);
    assert.equal(pre.ingress.allowed, true);
    assert.equal(pre.ingress.stage, "preDNAT");
    const normal = explain("198.18.1.3", "node-1-eth0", 8081);
    assert.equal(normal.ingress.allowed, true);
    assert.equal(normal.ingress.stage, undefined);
    assert.match(normal.ingress.reason, /lock, rule 0$/);
    const denied = explain("198.18.1.3", "node-1-eth0", 8082);
    assert.equal(denied.ingress.allowed, false);
    assert.match(denied.ingress.reason, /lock, rule 1$/);
  });

  it("the host's own egress meets untracked egress rules, then normal policy", () => {
    assert.equal(explain("node-1-eth0", "198.18.1.1", 443).egress.allowed, false);
    const reply = explain("node-1-eth0", "198.18.1.1", 443);
    assert.equal(reply.egress.stage, undefined);
  });

  it("stage policies never apply to workloads, even when they select them", () => {
    // The untracked Deny from 198.18.1.2 selects app=web too: the workload ignores it.
    const e = explain("198.18.1.2", "shop/far", 8080);
    assert.equal(e.ingress.allowed, true);
    assert.equal(e.ingress.decision.kind, "no-policy");
  });

  it("a workload's flows off the node meet the node's host endpoint stages first", () => {
    const fwdIn = explain("198.18.1.2", "shop/web", 81);
    assert.equal(fwdIn.ingress.allowed, false);
    assert.equal(fwdIn.ingress.stage, "forward");
    assert.equal(fwdIn.ingress.hostEndpoint, "node-1-eth0");
    assert.match(
      fwdIn.ingress.reason,
      /fwd, rule 0 \(applyOnForward policy: forward hook.* of host endpoint node-1-eth0\)$/,
    );
    const untrackedDeny = explain("198.18.1.2", "shop/web", 8080);
    assert.equal(untrackedDeny.ingress.stage, "untracked");
    assert.equal(untrackedDeny.ingress.allowed, false);
    const fwdOut = explain("shop/web", "198.18.1.2", 80);
    assert.equal(fwdOut.egress.allowed, false);
    assert.equal(fwdOut.egress.stage, "forward");
    // The normal policy lock (applyOnForward false, ending in Deny) does not apply forwarded.
    const through = explain("198.18.1.2", "shop/web", 80);
    assert.equal(through.allowed, true);
    assert.equal(through.ingress.decision.kind, "no-policy");
    // A pre-DNAT Allow (port 9090) skips the host endpoint's forward policy, not the workload's.
    assert.equal(explain("198.18.1.2", "shop/web", 9090).ingress.decision.kind, "no-policy");
  });

  it("a host endpoint found by its expectedIPs judges its node's forwarded flows too", () => {
    // Which interfaces will hold its address is not known offline: it may be crossed, so it judges.
    const bare = buildWorld(
      validResources([namespace("shop"), web, edgeHost(null), forward] as never[]),
    );
    const e = explainFlow(bare, { from: "198.18.1.2", to: "shop/web", port: 81, protocol: "TCP" });
    assert.equal(e.ingress.allowed, false);
    assert.equal(e.ingress.stage, "forward");
    assert.equal(e.ingress.hostEndpoint, "node-1-eth0");
  });

  it("a local workload reaching its node uses its own interface: no stage applies", () => {
    const e = explain("shop/web", "node-1-eth0", 9090);
    assert.equal(e.ingress.stage, undefined);
    assert.equal(e.ingress.allowed, false, "normal policy allows 8081 only");
  });
});

describe("describe of a host endpoint", () => {
  it("lists its untracked and pre-DNAT tiers before its normal ones", () => {
    const d = describeIn(world, hep as never);
    assert.equal(d.type, "endpoint");
    const text = formatDescription(d);
    const ingress = text.slice(text.indexOf("Ingress"));
    const at = (s: string) => ingress.indexOf(s);
    assert.ok(at("default Pass, untracked stage") >= 0, text);
    assert.ok(at("default Pass, untracked stage") < at("default Pass, preDNAT stage"), text);
    assert.ok(at("default Pass, preDNAT stage") < at("GlobalNetworkPolicy lock"), text);
  });
});
