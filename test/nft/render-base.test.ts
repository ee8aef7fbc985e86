// The base chains as written: source validation before conntrack, workload to node through
// the workload's egress and then the endpoint-to-host action, failsafe ports never for
// workload interfaces, allowed source prefixes only where the node allows spoofing.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_ENFORCEMENT, NftRenderer } from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { DpEndpoint, EndpointId, SetId } from "../../src/engine/types.ts";
import { podInterfaceName } from "../../src/engine/workload-interface.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { members } from "../members.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["cali*"] };
const vm: DpEndpoint = {
  id: "ns/vm" as EndpointId,
  kind: "workload",
  interfaceName: "tap0",
  addresses: ["198.18.0.7"],
  allowedSourcePrefixes: ["198.18.64.0/24", "fd00:64::/64"],
  ingress: [],
  egress: [],
};

async function dump(config: typeof cfg, endpoints: DpEndpoint[] = []): Promise<string[]> {
  const fake = new MemoryNftables();
  const state = {
    sets: new Map(),
    policies: new Map(),
    endpoints: new Map(endpoints.map((e) => [e.id, e])),
  };
  await fake.run(new NftRenderer(config).full(state));
  return fake.dump().split("\n");
}

const chain = (lines: string[], name: string) =>
  lines
    .filter((l) => l.startsWith(`add rule inet microseg ${name} `))
    .map((l) => l.slice(`add rule inet microseg ${name} `.length));

describe("base chains", () => {
  test("prerouting checks sources at raw priority, before conntrack", async () => {
    const lines = await dump(cfg);
    assert.ok(
      lines.includes(
        "add chain inet microseg prerouting { type filter hook prerouting priority -300; policy accept; }",
      ),
    );
    assert.deepEqual(chain(lines, "prerouting"), [
      "meta iifname . ip saddr @src4 counter accept",
      "meta iifname . ip6 saddr @src6 counter accept",
      'meta iifname "cali*" counter jump from-workload',
      'ip saddr @wl4 counter log prefix "ms|S|e|-|-|-" group 1 drop',
      'ip6 saddr @wl6 counter log prefix "ms|S|e|-|-|-" group 1 drop',
      "counter jump hep-untracked-in",
    ]);
    assert.deepEqual(chain(lines, "from-workload"), [
      "ip6 saddr fe80::/10 icmpv6 type { 131, 133, 135, 136, 143 } counter accept",
      "ip6 saddr :: icmpv6 type { 131, 135, 143 } counter accept",
      'counter log prefix "ms|S|e|-|-|-" group 1 drop',
    ]);
  });

  test("forward: three conntrack rules before dispatch, one related chain, unknown destinations last", async () => {
    const lines = await dump(cfg);
    assert.deepEqual(chain(lines, "forward"), [
      "ct state established counter accept",
      "ct state related counter goto ct-related",
      "ct state invalid counter drop",
      "counter jump hep-forward",
      "counter ip saddr vmap @ep-out4",
      "counter ip6 saddr vmap @ep-out6",
      "counter ip daddr vmap @ep-in4",
      "counter ip6 daddr vmap @ep-in6",
      'meta oifname "cali*" counter log prefix "ms|S|i|-|-|-" group 1 drop',
    ]);
    assert.deepEqual(chain(lines, "ct-related"), [
      "ip saddr . ct original ip saddr @self4 counter accept",
      "ip saddr . ct original ip daddr @self4 counter accept",
      'ip saddr @wl4 counter log prefix "ms|S|-|-|-|-" group 1 drop',
      "ip6 saddr . ct original ip6 saddr @self6 counter accept",
      "ip6 saddr . ct original ip6 daddr @self6 counter accept",
      'ip6 saddr @wl6 counter log prefix "ms|S|-|-|-|-" group 1 drop',
      "counter accept",
    ]);
    for (const hook of ["input", "output"]) {
      const rules = chain(lines, hook);
      assert.equal(rules.filter((r) => r.startsWith("ct state")).length, 3, rules.join("\n"));
      assert.ok(rules.includes("ct state related counter goto ct-related"), rules.join("\n"));
    }
    // No host endpoint with a forward stage: nothing in its dispatch chain to skip to.
    assert.deepEqual(chain(lines, "hep-forward"), []);
  });

  test("source pairs only for workloads on workload interfaces", async () => {
    const pod: DpEndpoint = { ...vm, id: "ns/pod" as EndpointId, interfaceName: "cali0123" };
    const elements = (await dump(cfg, [vm, { ...pod, addresses: ["198.18.0.8"] }])).filter((l) =>
      l.startsWith("add element inet microseg src4 "),
    );
    assert.deepEqual(elements, ["add element inet microseg src4 { cali0123 . 198.18.0.8 }"]);
  });

  test("workload to node: egress policy, then Drop by default; failsafe only after, for the rest", async () => {
    const lines = await dump(cfg);
    const input = chain(lines, "input");
    const jump = input.indexOf('meta iifname "cali*" counter jump workload-to-host');
    const failsafe = input.findIndex((r) => r.includes("dport { 22, 2379-2380 }"));
    assert.ok(jump >= 0 && failsafe > jump, input.join("\n"));
    assert.deepEqual(chain(lines, "workload-to-host"), [
      "counter ip saddr vmap @ep-out4",
      "counter ip6 saddr vmap @ep-out6",
      'counter log prefix "ms|H|e|-|-|-" group 1 drop',
    ]);
    const output = chain(lines, "output");
    const toWorkload = output.indexOf('meta oifname "cali*" counter jump host-to-workload');
    assert.ok(toWorkload >= 0 && output.findIndex((r) => r.includes("dport 53")) > toWorkload);
    assert.deepEqual(
      chain(await dump({ ...cfg, endpointToHostAction: "Accept" }), "workload-to-host").at(-1),
      "counter accept",
    );
    assert.deepEqual(
      chain(await dump({ ...cfg, endpointToHostAction: "Return" }), "workload-to-host").slice(2),
      ["counter ip daddr vmap @ep-in4", "counter ip6 daddr vmap @ep-in6", "counter accept"],
    );
  });

  test("allowed source prefixes count only where the node allows spoofing", async () => {
    const off = chain(await dump(cfg, [vm]), "from-workload");
    assert.ok(!off.some((r) => r.includes("198.18.64.0/24")), off.join("\n"));
    const on = chain(await dump({ ...cfg, workloadSourceSpoofing: true }, [vm]), "from-workload");
    assert.deepEqual(on.slice(0, 2), [
      'meta iifname "tap0" ip saddr 198.18.64.0/24 counter accept',
      'meta iifname "tap0" ip6 saddr fd00:64::/64 counter accept',
    ]);
  });

  test("an endpoint update that changes allowed prefixes rewrites from-workload in the same batch", () => {
    const renderer = new NftRenderer({ ...cfg, workloadSourceSpoofing: true });
    renderer.full({ sets: new Map(), policies: new Map(), endpoints: new Map([[vm.id, vm]]) });
    const tx = renderer
      .update([
        {
          type: "endpoint-upserted",
          endpoint: { ...vm, allowedSourcePrefixes: ["198.18.65.0/24"] },
        },
      ])
      .toString();
    assert.match(tx, /flush chain inet microseg from-workload/);
    assert.match(tx, /meta iifname "tap0" ip saddr 198.18.65.0\/24 counter accept/);
    assert.doesNotMatch(tx, /198\.18\.64\.0/);
  });
});

describe("deltas a correct engine never sends", () => {
  test("members of a set that was never added fail loudly", () => {
    const renderer = new NftRenderer(cfg);
    renderer.full({ sets: new Map(), policies: new Map(), endpoints: new Map() });
    assert.throws(
      () =>
        renderer.update([
          { type: "set-members-added", id: "sel:nope" as SetId, members: members(["198.18.0.1"]) },
        ]),
      /members for set sel:nope, which was never added/,
    );
  });
});

describe("workload interfaces", () => {
  test("pods' interfaces are named as Calico's CNI plugin names them", () => {
    // `printf 'shop.web' | sha1sum | cut -b -11` = 551b05c3e54
    assert.equal(podInterfaceName("cali", "shop", "web"), "cali551b05c3e54");
    assert.equal(podInterfaceName("wl", "shop", "web"), "wl551b05c3e5468");
  });

  test("the engine gives pods the derived name, WorkloadEndpoints their own, host endpoints none", () => {
    const engine = new Engine({ node: "n1", podInterfacePrefix: "cali" });
    engine.ingest(
      [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "web", namespace: "shop" },
          spec: { nodeName: "n1", containers: [{ name: "c" }] },
          status: { podIP: "198.18.0.1" },
        },
        {
          apiVersion: "microseg.io/v1",
          kind: "WorkloadEndpoint",
          metadata: { name: "vm", namespace: "shop" },
          spec: {
            node: "n1",
            interfaceName: "tap0",
            ipNetworks: ["198.18.0.7/32"],
            allowSpoofedSourcePrefixes: ["198.18.64.0/24"],
          },
        },
        {
          apiVersion: "microseg.io/v1",
          kind: "HostEndpoint",
          metadata: { name: "n1-eth0" },
          spec: { node: "n1", expectedIPs: ["198.19.0.1"] },
        },
      ].map((resource) => ({ type: "upsert" as const, resource: resource as never })),
    );
    engine.flush();
    const eps = engine.state().endpoints;
    const shape = (id: string) => {
      const e = eps.get(id as EndpointId)!;
      return { kind: e.kind, interfaceName: e.interfaceName, allowed: e.allowedSourcePrefixes };
    };
    assert.deepEqual(shape("shop/web"), {
      kind: "workload",
      interfaceName: "cali551b05c3e54",
      allowed: undefined,
    });
    assert.deepEqual(shape("shop/vm"), {
      kind: "workload",
      interfaceName: "tap0",
      allowed: ["198.18.64.0/24"],
    });
    assert.deepEqual(shape("n1-eth0"), {
      kind: "host",
      interfaceName: undefined,
      allowed: undefined,
    });
  });
});
