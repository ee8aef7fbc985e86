// Host endpoint stages rendered incrementally: every batch that adds, changes or removes a stage
// policy or the host endpoint leaves exactly the table a full render of the final state gives,
// and stage chains exist only for host endpoints, bound to their interface (named, or holding one
// of their expectedIPs, else to those addresses), never for workloads.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_ENFORCEMENT, NftRenderer } from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { down, edgeHost, edgePod, edgePolicy, up } from "../policy/host-stage-fixtures.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["veth*"] };

const untracked = (port: number): Resource =>
  edgePolicy("untracked", {
    doNotTrack: true,
    applyOnForward: true,
    ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [port] } }],
  });
const forward = edgePolicy("fwd", { applyOnForward: true, types: ["Egress"] });
const preDnat = edgePolicy("pre", {
  preDNAT: true,
  applyOnForward: true,
  types: ["Ingress"],
  ingress: [{ action: "Deny", protocol: "TCP", destination: { ports: [9090] } }],
});
// The pre-DNAT base chain exists only while a host endpoint has pre-DNAT policy.
const preDnatHook = /add chain inet microseg prednat \{ type filter hook prerouting priority -150/;

async function dumpOf(engine: Engine): Promise<string> {
  const fake = new MemoryNftables();
  await fake.run(new NftRenderer(cfg).full(engine.state()));
  return fake.dump();
}

describe("host endpoint stages, incrementally", () => {
  test("each batch equals the full render; stage chains only for the host endpoint", async () => {
    const engine = new Engine({ node: "node-1" });
    const renderer = new NftRenderer(cfg);
    const fake = new MemoryNftables();
    await fake.run(renderer.full(engine.state()));
    // A batch may also change the node's interfaces (the agent's reading of `ip addr`).
    type Batch = [string, ResourceEvent[], RegExp[], RegExp[], Map<string, string[]>?];
    const batches: Batch[] = [
      [
        "pod, host endpoint, untracked policy",
        [up(edgePod), up(edgeHost("eth0")), up(untracked(8080))],
        [/untracked-in/, /notrack/],
        [/forward-out.*jump/, preDnatHook],
      ],
      ["policy changed", [up(untracked(8081))], [/dport 8081/], [/dport 8080/]],
      ["forward policy added", [up(forward)], [/oifname "eth0" counter jump hs-/], []],
      ["pre-DNAT policy added", [up(preDnat)], [preDnatHook, /hep-prednat .*jump hs-/], []],
      ["pre-DNAT policy removed", [down(preDnat)], [], [preDnatHook, /hep-prednat .*jump/]],
      [
        "interface removed, no interface holds its address: bound to the address, no forward stage",
        [up(edgeHost(null))],
        [/iifname != "veth\*" ip daddr 198\.19\.0\.1 counter jump hs-\w+-untracked-in/],
        [/iifname "eth0"/, /oifname "eth0"/, /hep-forward .*jump hs-/],
      ],
      [
        "the address appears on eth1: bound to eth1",
        [],
        [/iifname "eth1" counter jump hs-\w+-untracked-in/, /oifname "eth1" counter jump hs-/],
        [/ip daddr 198\.19\.0\.1 counter jump hs-/],
        new Map([
          ["eth1", ["198.19.0.1"]],
          ["eth2", ["198.19.0.9"]],
        ]),
      ],
      [
        "the address moves to eth2",
        [],
        [/iifname "eth2" counter jump hs-\w+-untracked-in/],
        [/iifname "eth1"/],
        new Map([["eth2", ["198.19.0.9", "198.19.0.1"]]]),
      ],
      [
        "interface back, policies removed",
        [up(edgeHost("*")), down(untracked(8081)), down(forward)],
        [],
        [/jump hs-/],
      ],
      ["host endpoint removed", [down(edgeHost(null))], [], [/hs-/]],
    ];
    for (const [what, events, present, absent, interfaces] of batches) {
      if (interfaces) engine.setHostInterfaces(interfaces);
      engine.ingest(events);
      await fake.run(renderer.update(engine.flush()));
      const dump = fake.dump();
      assert.equal(dump, await dumpOf(engine), what);
      for (const re of present) assert.match(dump, re, what);
      for (const re of absent) assert.doesNotMatch(dump, re, what);
    }
  });
});

describe("one host endpoint per interface", () => {
  test("a wildcard host endpoint leaves the interfaces named by others to them", async () => {
    const star = validResource({
      apiVersion: "microseg.io/v1",
      kind: "HostEndpoint",
      metadata: { name: "node-1-all", labels: { role: "edge" } },
      spec: { node: "node-1", interfaceName: "*", expectedIPs: ["198.19.0.2"] },
    });
    const engine = new Engine({ node: "node-1" });
    engine.ingest([up(edgeHost("eth0")), up(star), up(untracked(8080))]);
    engine.flush();
    const fake = new MemoryNftables();
    await fake.run(new NftRenderer(cfg).full(engine.state()));
    const rules = fake
      .dump()
      .split("\n")
      .filter((l) => l.startsWith("add rule inet microseg hep-untracked-in meta iifname"));
    assert.equal(rules.length, 2, rules.join("\n"));
    assert.ok(
      rules.some((l) => l.includes('meta iifname "eth0" counter jump')),
      rules.join("\n"),
    );
    assert.ok(
      rules.some((l) =>
        l.includes(
          'meta iifname != "lo" meta iifname != "veth*" meta iifname != "eth0" counter jump',
        ),
      ),
      rules.join("\n"),
    );
  });
});
