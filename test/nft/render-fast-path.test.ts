// The verdict-map fast path: peer addresses map to identity numbers, an identity's verdict maps
// give a decision's number for a local address, protocol and port, and the decision maps jump
// to the deciding policy's chain; where the lookup cannot be
// exact (a peer CIDR, a Log rule, a tier's default Deny) there is no element and the packet
// walks the chains. Checked on MemoryNftables with the packet simulator against MemoryDataplane,
// and element counts per event (a new replica is one element in the identity map).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import {
  DEFAULT_ENFORCEMENT,
  MARK_HOST_ALLOWED,
  NftRenderer,
  policyChain,
} from "../../src/dataplane/nftables/index.ts";
import type {
  DataplaneState,
  Delta,
  DpEndpoint,
  DpPolicy,
  DpRule,
  EndpointId,
  PolicyId,
  SetId,
  SetSpec,
} from "../../src/engine/index.ts";
import { parseCidr } from "../../src/net/cidr.ts";
import { MemoryNftables, type TableModel } from "../../src/nft/index.ts";
import { memberMap, members } from "../members.ts";
import { type SimPacket, simulator } from "./packet-sim.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["veth*"] };
const web: SetSpec = {
  id: "sel:app == 'web'" as SetId,
  kind: "addresses",
  selector: "app == 'web'",
};

const origin = {
  policy: { kind: "GlobalNetworkPolicy", name: "p" },
  direction: "ingress",
  index: 0,
} as const;
const rule = (r: Partial<DpRule> & Pick<DpRule, "action">): DpRule => ({
  source: {},
  destination: {},
  origin,
  ...r,
});
const policy = (name: string, ingress: DpRule[]): DpPolicy => ({
  id: `GlobalNetworkPolicy//${name}` as PolicyId,
  tier: "default",
  ingress,
  egress: [],
});
const allowWeb = policy("allow-web", [
  rule({
    action: "Allow",
    protocol: "TCP",
    source: { set: web.id },
    destination: { ports: [{ from: 9000, to: 9000 }] },
  }),
]);
const db = (policies: DpPolicy[]): DpEndpoint => ({
  id: "ns/db" as EndpointId,
  kind: "workload",
  interfaceName: "veth0",
  addresses: ["198.18.0.2"],
  ingress: [{ name: "default", defaultAction: "Deny", policies: policies.map((p) => p.id) }],
  egress: [],
});

function stateOf(webMembers: string[], policies: DpPolicy[]): DataplaneState {
  return {
    sets: new Map([[web.id, { spec: web, members: memberMap(webMembers) }]]),
    policies: new Map(policies.map((p) => [p.id, p])),
    endpoints: new Map([[db(policies).id, db(policies)]]),
  };
}

function deltasOf(s: DataplaneState): Delta[] {
  const out: Delta[] = [];
  for (const { spec, members: m } of s.sets.values()) {
    out.push({ type: "set-added", set: spec });
    out.push({ type: "set-members-added", id: spec.id, members: [...m.values()] });
  }
  for (const p of s.policies.values()) out.push({ type: "policy-upserted", policy: p });
  for (const e of s.endpoints.values()) out.push({ type: "endpoint-upserted", endpoint: e });
  return out;
}

async function rendered(s: DataplaneState): Promise<TableModel> {
  const fake = new MemoryNftables();
  await fake.run(new NftRenderer(cfg).full(s));
  return (await fake.read("inet", "microseg"))!;
}

const elements = (t: TableModel, prefix: string) =>
  t.sets.filter((s) => s.name.startsWith(prefix)).flatMap((s) => s.elements);

/**
 * The IPv4 ingress verdict maps' elements by map kind (single ports, port ranges, the other
 * ports), each key without its first part, the peer identity's number, which is `identity`.
 */
const verdictsOf = (t: TableModel) => {
  const of = (name: string) =>
    elements(t, name).map((e) => ({ ...e, identity: e.key[0], key: e.key.slice(1) }));
  return { port: of("x4-in"), range: of("v4-in"), rest: of("w4-in") };
};
const allVerdicts = (t: TableModel) => Object.values(verdictsOf(t)).flat();

/** Where a verdict element's decision jumps, through the decision map. */
function decided(t: TableModel, decision: unknown): unknown {
  const el = elements(t, "decide-in").find((e) => e.key[0] === decision);
  assert.ok(el, `no decision element ${String(decision)}`);
  return el.value;
}

/** A new TCP connection from `source` to db's `port`, forwarded to db's interface. */
const probe = (source: string, port: number, mark = 0): SimPacket => ({
  family: 4,
  saddr: source,
  daddr: "198.18.0.2",
  l4proto: 6,
  sport: 40000,
  dport: port,
  oifname: "veth0",
  ctState: "new",
  mark,
});

/** The simulator's and MemoryDataplane's verdicts agree on these TCP probes. */
function sameVerdicts(t: TableModel, s: DataplaneState, probes: Array<[string, number]>): void {
  const memory = new MemoryDataplane();
  memory.applyDeltas(deltasOf(s));
  const judge = simulator(t);
  for (const [source, port] of probes) {
    const want = memory.verdict({
      source,
      destination: "198.18.0.2",
      protocol: "TCP",
      port,
    }).allowed;
    const got = judge("forward", probe(source, port)).verdict === "accept";
    assert.equal(got, want, `${source} -> 198.18.0.2 ${port}/TCP: memory ${want}, ruleset ${got}`);
  }
}

describe("verdict-map fast path", () => {
  test("replicas share one identity; its map sends the allowed port to the deciding policy", async () => {
    const s = stateOf(["198.18.0.1", "198.18.0.3"], [allowWeb]);
    const t = await rendered(s);
    const peers = elements(t, "ids4");
    assert.equal(peers.length, 2);
    assert.deepEqual(new Set(peers.map((e) => JSON.stringify(e.value))).size, 1);
    const verdicts = allVerdicts(t);
    // 9000/TCP allowed by allow-web; every other port falls to the tier's default: no element,
    // so no rest element either.
    assert.equal(verdicts.length, 1);
    assert.deepEqual(verdictsOf(t).port[0]?.key, ["198.18.0.2", "tcp", 9000]);
    assert.equal(verdictsOf(t).port[0]?.identity, peers[0]?.value, "keyed by the peers' identity");
    assert.deepEqual(decided(t, verdicts[0]!.value), {
      kind: "jump",
      chain: policyChain(allowWeb.id, "ingress"),
    });
    sameVerdicts(t, s, [
      ["198.18.0.1", 9000],
      ["198.18.0.3", 9000],
      ["198.18.0.1", 80],
      ["198.18.0.9", 9000],
    ]);
  });

  test("a deny decided by a policy jumps to that policy's chain, which logs and drops", async () => {
    const denyWeb = policy("deny-web", [rule({ action: "Deny", source: { set: web.id } })]);
    const s = stateOf(["198.18.0.1"], [denyWeb, allowWeb]);
    const t = await rendered(s);
    // Every port of every protocol from web is denied: one rest element per protocol.
    const verdicts = allVerdicts(t);
    assert.deepEqual(
      verdictsOf(t).rest.map((e) => e.key),
      ["tcp", "udp", "sctp"].map((p) => ["198.18.0.2", p]),
    );
    assert.equal(verdicts.length, 3);
    for (const v of verdicts)
      assert.deepEqual(decided(t, v.value), {
        kind: "jump",
        chain: policyChain(denyWeb.id, "ingress"),
      });
    sameVerdicts(t, s, [
      ["198.18.0.1", 9000],
      ["198.18.0.1", 22],
    ]);
  });

  test("single ports and each protocol's other ports go to hash maps, port ranges to the interval map", async () => {
    /** A policy with one rule: web to these ports of db over the protocol. */
    const fromWeb = (
      name: string,
      action: "Allow" | "Deny",
      protocol: "TCP" | "UDP",
      from: number,
      to = from,
    ) =>
      policy(name, [
        rule({ action, protocol, source: { set: web.id }, destination: { ports: [{ from, to }] } }),
      ]);
    const denySsh = fromWeb("deny-ssh", "Deny", "TCP", 22);
    const allowRange = fromWeb("allow-range", "Allow", "UDP", 8000, 8100);
    const denyOne = fromWeb("deny-8050", "Deny", "UDP", 8050);
    // A tier that passes by default: every port has a decision, so each protocol has a rest.
    const passing = (policies: DpPolicy[]): DataplaneState => {
      const s = stateOf(["198.18.0.1"], policies);
      const ep = s.endpoints.get("ns/db" as EndpointId)!;
      const tiers = [
        { name: "default", defaultAction: "Pass" as const, policies: ep.ingress[0]!.policies },
      ];
      return { ...s, endpoints: new Map([[ep.id, { ...ep, ingress: tiers }]]) };
    };
    const s = passing([denySsh, denyOne, allowRange]);
    const t = await rendered(s);
    const v = verdictsOf(t);
    const keys = (els: typeof v.port) =>
      els.map((e) => e.key).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    assert.deepEqual(keys(v.port), [
      ["198.18.0.2", "tcp", 22],
      ["198.18.0.2", "udp", 8050],
    ]);
    assert.deepEqual(keys(v.range), [
      ["198.18.0.2", "udp", { kind: "range", from: 8000, to: 8049 }],
      ["198.18.0.2", "udp", { kind: "range", from: 8051, to: 8100 }],
    ]);
    assert.deepEqual(keys(v.rest), [
      ["198.18.0.2", "sctp"],
      ["198.18.0.2", "tcp"],
      ["198.18.0.2", "udp"],
    ]);
    const judge = simulator(t);
    const memory = new MemoryDataplane();
    memory.applyDeltas(deltasOf(s));
    for (const [protocol, l4proto] of [
      ["TCP", 6],
      ["UDP", 17],
    ] as const) {
      for (const port of [21, 22, 23, 7999, 8000, 8049, 8050, 8051, 8100, 8101]) {
        const want = memory.verdict({
          source: "198.18.0.1",
          destination: "198.18.0.2",
          protocol,
          port,
        });
        const got = judge("forward", { ...probe("198.18.0.1", port), l4proto });
        assert.equal(got.verdict === "accept", want.allowed, `${protocol} ${port}`);
      }
    }
  });

  test("no element where the key cannot decide: a peer CIDR rule, a Log rule", async () => {
    const cidr = policy("cidr", [
      rule({ action: "Deny", source: { nets: [parseCidr("198.18.0.0/31")] } }),
    ]);
    const logged = policy("log", [rule({ action: "Log", source: { set: web.id } })]);
    for (const first of [cidr, logged]) {
      const s = stateOf(["198.18.0.1", "198.18.0.3"], [first, allowWeb]);
      const t = await rendered(s);
      assert.equal(allVerdicts(t).length, 0, `${first.id}: no verdict element`);
      sameVerdicts(t, s, [
        ["198.18.0.1", 9000],
        ["198.18.0.3", 9000],
        ["198.18.0.1", 80],
      ]);
    }
  });

  test("an address inside a set's prefix gets no identity (the prefix is not in its signature)", async () => {
    const s = stateOf(["198.18.0.1", "198.18.0.3", "198.18.0.0/31"], [allowWeb]);
    const t = await rendered(s);
    assert.deepEqual(
      elements(t, "ids4").map((e) => e.key),
      [["198.18.0.3"]],
    );
    sameVerdicts(t, s, [
      ["198.18.0.1", 9000],
      ["198.18.0.3", 9000],
      ["198.18.0.0", 80],
    ]);
  });

  test("a new replica of an existing identity is one element in the identity map", async () => {
    const s = stateOf(["198.18.0.1"], [allowWeb]);
    const renderer = new NftRenderer(cfg);
    const fake = new MemoryNftables();
    await fake.run(renderer.full(s));
    const tx = renderer.update([
      { type: "set-members-added", id: web.id, members: members(["198.18.0.5"]) },
    ]);
    await fake.run(tx);
    const adds = tx.commands
      .filter((c) => c.verb === "add")
      .map((c) => (c.object.kind === "element" ? c.object.set : c.object.kind));
    assert.deepEqual(adds.filter((a) => !a.startsWith("a4-")).sort(), ["ids4"]);
    // And the incremental table equals a full render of the new state.
    const full = await rendered(stateOf(["198.18.0.1", "198.18.0.5"], [allowWeb]));
    const again = new MemoryNftables();
    await again.run(new NftRenderer(cfg).full(stateOf(["198.18.0.1", "198.18.0.5"], [allowWeb])));
    assert.equal(fake.dump(), again.dump());
    sameVerdicts(full, stateOf(["198.18.0.1", "198.18.0.5"], [allowWeb]), [["198.18.0.5", 9000]]);
  });

  test("a new local replica is elements only: its chains are its twin's", async () => {
    const s = stateOf(["198.18.0.1"], [allowWeb]);
    const renderer = new NftRenderer(cfg);
    const fake = new MemoryNftables();
    await fake.run(renderer.full(s));
    const twin: DpEndpoint = {
      ...db([allowWeb]),
      id: "ns/db-2" as EndpointId,
      interfaceName: "veth2",
      addresses: ["198.18.0.4"],
    };
    const tx = renderer.update([{ type: "endpoint-upserted", endpoint: twin }]);
    await fake.run(tx);
    const objects = new Set(tx.commands.map((c) => `${c.verb} ${c.object.kind}`));
    assert.deepEqual([...objects], ["add element"], tx.toString());
    // Its own verdict elements, under the same identity as db's.
    const mine = verdictsOf((await fake.read("inet", "microseg"))!).port.filter(
      (e) => e.key[0] === "198.18.0.4",
    );
    assert.deepEqual(
      mine.map((e) => e.key),
      [["198.18.0.4", "tcp", 9000]],
    );
    // And the table equals a full render of the state with both.
    const both: DataplaneState = { ...s, endpoints: new Map([...s.endpoints, [twin.id, twin]]) };
    const again = new MemoryNftables();
    await again.run(new NftRenderer(cfg).full(both));
    assert.equal(fake.dump(), again.dump());
  });

  test("the mark leaves as it came; a mark bit microseg does not own takes the walk", async () => {
    const denyWeb = policy("deny-web", [rule({ action: "Deny", source: { set: web.id } })]);
    const s = stateOf(["198.18.0.1"], [allowWeb, denyWeb]);
    const fast = simulator(await rendered(s));
    const fake = new MemoryNftables();
    await fake.run(new NftRenderer({ ...cfg, verdictMaps: false }).full(s));
    const walk = simulator((await fake.read("inet", "microseg"))!);
    const allowed = policyChain(allowWeb.id, "ingress");
    // 0x4000: kube-proxy's masquerade bit; 0x80000: a host endpoint stage allowed the packet.
    for (const mark of [0, 0x4000, MARK_HOST_ALLOWED, 0x4000 | MARK_HOST_ALLOWED]) {
      for (const [source, port] of [
        ["198.18.0.1", 9000],
        ["198.18.0.1", 80],
        ["198.18.0.9", 9000],
      ] as const) {
        const packet = probe(source, port, mark);
        const [f, w] = [fast("forward", packet), walk("forward", packet)];
        const what = `${source} -> ${port}, mark ${mark.toString(16)}`;
        assert.equal(f.verdict, w.verdict, what);
        assert.deepEqual(f.logs, w.logs, what);
        // A dropped packet's mark is gone with it (and microseg's flow records do not read
        // the mark NFLOG copies carry); one that goes on must carry the bits it came with.
        if (w.verdict === "accept") assert.equal(f.mark, w.mark, what);
        // The lookup decided (the policy chain entered from the lookup chain) exactly when the
        // mark was free to carry it and the peer has an identity.
        const lookup = f.chains.findLast((c) => c.startsWith("ids-in"));
        assert.ok(lookup, what);
        const below = `@${Number(lookup.split("@")[1]) + 1}`;
        const policies = [allowed, policyChain(denyWeb.id, "ingress")].map((c) => c + below);
        const decided = f.chains.some((c) => policies.includes(c));
        assert.equal(decided, (mark & 0x4000) === 0 && source === "198.18.0.1", what);
      }
    }
  });
});
