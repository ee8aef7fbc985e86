// Golden text of what the renderer writes: the table for a small state, and the transactions
// of typical batches (a pod joining a set, an address moving to another endpoint, removals).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bootstrapTransaction,
  DEFAULT_ENFORCEMENT,
  endpointChain,
  formatLogPrefix,
  holderComment,
  learnRuleHandles,
  logKey,
  NftRenderer,
  parseLogPrefix,
  policyChain,
  prefixSetName,
  setName,
} from "../../src/dataplane/nftables/index.ts";
import type {
  Delta,
  DpEndpoint,
  DpPolicy,
  DpRule,
  EndpointId,
  PolicyId,
  SetId,
  SetSpec,
} from "../../src/engine/types.ts";
import { parseCidr } from "../../src/net/cidr.ts";
import { MemoryNftables } from "../../src/nft/index.ts";
import { memberMap, members } from "../members.ts";

// The chain walk as written; the verdict-map fast path has its own tests (render-fast-path).
const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["veth*"], verdictMaps: false };
const web = {
  id: "sel:app == 'web'" as SetId,
  kind: "addresses",
  selector: "app == 'web'",
} as const;
const http = {
  id: "np:http:app == 'db'" as SetId,
  kind: "named-ports",
  selector: "app == 'db'",
  portName: "http",
} as const;
const A4 = setName(web.id, "addresses", 4);
const A6 = setName(web.id, "addresses", 6);
const N4 = prefixSetName(web.id, 4);
const N6 = prefixSetName(web.id, 6);
const P4 = setName(http.id, "named-ports", 4);
const P6 = setName(http.id, "named-ports", 6);

const origin = (index: number) =>
  ({ policy: { kind: "GlobalNetworkPolicy", name: "p" }, direction: "ingress", index }) as const;
const rule = (r: Partial<DpRule> & Pick<DpRule, "action">, index = 0): DpRule => ({
  source: {},
  destination: {},
  origin: origin(index),
  ...r,
});

const dbPolicy: DpPolicy = {
  id: "NetworkPolicy/ns/db" as PolicyId,
  tier: "default",
  ingress: [
    rule(
      {
        action: "Allow",
        protocol: "TCP",
        source: { set: web.id },
        destination: { ports: [{ from: 9000, to: 9000 }], namedPortSets: [http.id] },
      },
      0,
    ),
    rule(
      { action: "Allow", protocol: "UDP", destination: { notPorts: [{ from: 53, to: 53 }] } },
      1,
    ),
  ],
  egress: [],
};
const secPolicy: DpPolicy = {
  id: "GlobalNetworkPolicy//sec" as PolicyId,
  tier: "security",
  ingress: [
    rule({ action: "Deny", protocol: "TCP", destination: { ports: [{ from: 22, to: 22 }] } }, 0),
    rule({ action: "Log", protocol: "ICMP", icmp: { type: 8, code: 0 } }, 1),
    rule({ action: "Pass", source: { notSet: web.id } }, 2),
    rule({ action: "Allow", ipVersion: 6, notProtocol: 17 }, 3),
  ],
  egress: [rule({ action: "Pass", destination: { nets: [parseCidr("198.18.0.0/15")] } }, 0)],
};
const db: DpEndpoint = {
  id: "ns/db" as EndpointId,
  kind: "workload",
  interfaceName: "veth0",
  addresses: ["198.18.0.2", "fd00::2"],
  ingress: [
    { name: "security", defaultAction: "Deny", policies: [secPolicy.id] },
    { name: "default", defaultAction: "Deny", policies: [dbPolicy.id] },
  ],
  egress: [{ name: "security", defaultAction: "Pass", policies: [secPolicy.id] }],
};
const dbHolder = holderComment(db.id);

function startDeltas(): Delta[] {
  return [
    { type: "set-added", set: web as SetSpec },
    { type: "set-added", set: http as SetSpec },
    { type: "set-members-added", id: web.id, members: members(["198.18.0.1", "fd00::1"]) },
    { type: "set-members-added", id: http.id, members: members(["198.18.0.2,TCP,8080"]) },
    { type: "policy-upserted", policy: dbPolicy },
    { type: "policy-upserted", policy: secPolicy },
    { type: "endpoint-upserted", endpoint: db },
  ];
}

async function started(): Promise<{ renderer: NftRenderer; fake: MemoryNftables }> {
  const renderer = new NftRenderer(cfg);
  const fake = new MemoryNftables();
  await fake.run(renderer.full({ sets: new Map(), policies: new Map(), endpoints: new Map() }));
  await fake.run(renderer.update(startDeltas()));
  return { renderer, fake };
}

const lines = (text: string, prefix: string) =>
  text.split("\n").filter((l) => l.startsWith(prefix));

describe("policy and endpoint chains", () => {
  test("rules become nft rules: ports or named ports, notPorts, notSet, icmp, ipVersion", async () => {
    const { fake } = await started();
    const pin = policyChain(dbPolicy.id, "ingress");
    assert.deepEqual(lines(fake.dump(), `add rule inet microseg ${pin} `), [
      `add rule inet microseg ${pin} ip saddr @${A4} tcp dport 9000 counter meta mark set meta mark | 0x10000 return`,
      `add rule inet microseg ${pin} ip saddr @${A4} ip daddr . meta l4proto . tcp dport @${P4} tcp dport != 9000 counter meta mark set meta mark | 0x10000 return`,
      `add rule inet microseg ${pin} ip6 saddr @${A6} tcp dport 9000 counter meta mark set meta mark | 0x10000 return`,
      `add rule inet microseg ${pin} ip6 saddr @${A6} ip6 daddr . meta l4proto . tcp dport @${P6} tcp dport != 9000 counter meta mark set meta mark | 0x10000 return`,
      `add rule inet microseg ${pin} udp dport != 53 counter meta mark set meta mark | 0x10000 return`,
    ]);
    const sec = policyChain(secPolicy.id, "ingress");
    assert.deepEqual(lines(fake.dump(), `add rule inet microseg ${sec} `), [
      `add rule inet microseg ${sec} tcp dport 22 counter log prefix "ms|D|i|security|GlobalNetworkPolicy//sec|0" group 1 drop`,
      `add rule inet microseg ${sec} icmp type 8 icmp code 0 counter log prefix "ms|L|i|security|GlobalNetworkPolicy//sec|1" group 1`,
      `add rule inet microseg ${sec} ip saddr != @${A4} counter meta mark set meta mark | 0x20000 return`,
      `add rule inet microseg ${sec} ip6 saddr != @${A6} counter meta mark set meta mark | 0x20000 return`,
      `add rule inet microseg ${sec} meta nfproto ipv6 meta l4proto != udp counter meta mark set meta mark | 0x10000 return`,
    ]);
    const out = policyChain(secPolicy.id, "egress");
    assert.deepEqual(lines(fake.dump(), `add rule inet microseg ${out} `), [
      `add rule inet microseg ${out} ip daddr 198.18.0.0/15 counter meta mark set meta mark | 0x20000 return`,
    ]);
  });

  test("an endpoint walks its tiers: Allow ends, Pass goes on, default Deny logs and drops", async () => {
    const { fake } = await started();
    const ein = endpointChain(db, "ingress");
    const r = (body: string) => `add rule inet microseg ${ein} ${body}`;
    assert.deepEqual(lines(fake.dump(), r("")), [
      r("counter meta mark set meta mark & 0xfffcffff"),
      r(`counter jump ${policyChain(secPolicy.id, "ingress")}`),
      r('meta mark & 0x30000 == 0x0 counter log prefix "ms|T|i|security|-|-" group 1 drop'),
      r("meta mark & 0x10000 == 0x10000 counter accept"),
      r("counter meta mark set meta mark & 0xfffdffff"),
      r(`counter jump ${policyChain(dbPolicy.id, "ingress")}`),
      r('meta mark & 0x30000 == 0x0 counter log prefix "ms|T|i|default|-|-" group 1 drop'),
      r("counter accept"),
    ]);
    const eout = endpointChain(db, "egress");
    const o = (body: string) => `add rule inet microseg ${eout} ${body}`;
    assert.deepEqual(lines(fake.dump(), o("")), [
      o("counter meta mark set meta mark & 0xfffcffff"),
      o(`counter jump ${policyChain(secPolicy.id, "egress")}`),
      o("counter return"),
    ]);
  });

  test("sets split by family; no prefix set while there is no prefix; addresses dispatch to chains", async () => {
    const { fake } = await started();
    const dump = fake.dump();
    const comment = `comment "addresses: app == 'web'"`;
    assert.deepEqual(
      [...lines(dump, "add set inet microseg a"), ...lines(dump, "add set inet microseg n")],
      [
        `add set inet microseg ${A4} { type ipv4_addr; ${comment}; }`,
        `add set inet microseg ${A6} { type ipv6_addr; ${comment}; }`,
      ],
    );
    assert.deepEqual(lines(dump, "add element inet microseg "), [
      `add element inet microseg ${A4} { 198.18.0.1 }`,
      `add element inet microseg ${A6} { fd00::1 }`,
      `add element inet microseg ep-in4 { 198.18.0.2 comment "${dbHolder}" : jump ${endpointChain(db, "ingress")} }`,
      `add element inet microseg ep-in6 { fd00::2 comment "${dbHolder}" : jump ${endpointChain(db, "ingress")} }`,
      `add element inet microseg ep-out4 { 198.18.0.2 comment "${dbHolder}" : jump ${endpointChain(db, "egress")} }`,
      `add element inet microseg ep-out6 { fd00::2 comment "${dbHolder}" : jump ${endpointChain(db, "egress")} }`,
      `add element inet microseg ${P4} { 198.18.0.2 . tcp . 8080 }`,
      "add element inet microseg self4 { 198.18.0.2 . 198.18.0.2 }",
      "add element inet microseg self6 { fd00::2 . fd00::2 }",
      "add element inet microseg src4 { veth0 . 198.18.0.2 }",
      "add element inet microseg src6 { veth0 . fd00::2 }",
      "add element inet microseg wl4 { 198.18.0.2 }",
      "add element inet microseg wl6 { fd00::2 }",
    ]);
  });
});

describe("batches", () => {
  test("a pod joining and leaving a selector changes set elements only", async () => {
    const { renderer } = await started();
    const joined = renderer.update([
      { type: "set-members-added", id: web.id, members: members(["198.18.0.9", "fd00::9"]) },
      { type: "set-members-removed", id: web.id, members: members(["198.18.0.1"]) },
    ]);
    assert.equal(
      joined.toString(),
      [
        `delete element inet microseg ${A4} { 198.18.0.1 }`,
        `add element inet microseg ${A4} { 198.18.0.9 }`,
        `add element inet microseg ${A6} { fd00::9 }`,
        "",
      ].join("\n"),
    );
  });

  test("a first prefix makes the interval set, rules consult it, the last one deletes it after them", async () => {
    const { renderer, fake } = await started();
    const wider = renderer.update([
      {
        type: "set-members-added",
        id: web.id,
        members: members(["198.18.0.0/24", "198.18.0.0/16"]),
      },
    ]);
    const text = wider.toString();
    const comment = `comment "addresses: app == 'web'"`;
    assert.deepEqual(
      text
        .split("\n")
        .filter((l) => l.includes(N4) || l.includes(N6))
        .slice(0, 2),
      [
        `add set inet microseg ${N4} { type ipv4_addr; flags interval; ${comment}; }`,
        `add element inet microseg ${N4} { 198.18.0.0/16 }`,
      ],
      "the set before its element, before any rule consults it",
    );
    assert.ok(!text.includes(N6), "IPv6 gained no prefix: no set");
    assert.deepEqual(
      text.split("\n").filter((l) => l.includes("element")),
      [`add element inet microseg ${N4} { 198.18.0.0/16 }`],
      "the outermost prefix only; host elements stay",
    );
    const db = policyChain(dbPolicy.id, "ingress");
    const sec = policyChain(secPolicy.id, "ingress");
    assert.ok(text.includes(`flush chain inet microseg ${db}\n`));
    assert.ok(text.includes(`flush chain inet microseg ${sec}\n`));
    assert.match(text, new RegExp(`${db} meta l4proto tcp ip saddr != @${A4} ip saddr @${N4} `));
    assert.match(text, new RegExp(`${sec} ip saddr != @${A4} ip saddr != @${N4} counter`));
    await fake.run(wider);
    const narrower = renderer.update([
      { type: "set-members-removed", id: web.id, members: members(["198.18.0.0/16"]) },
    ]);
    assert.deepEqual(
      narrower
        .toString()
        .split("\n")
        .filter((l) => l.includes("element")),
      [
        `delete element inet microseg ${N4} { 198.18.0.0/16 }`,
        `add element inet microseg ${N4} { 198.18.0.0/24 }`,
      ],
      "the prefix it covered comes back; rules are unchanged while a prefix remains",
    );
    assert.ok(!narrower.toString().includes("flush chain"));
    await fake.run(narrower);
    const gone = renderer.update([
      { type: "set-members-removed", id: web.id, members: members(["198.18.0.0/24"]) },
    ]);
    const goneText = gone.toString();
    assert.doesNotMatch(goneText, new RegExp(`add rule .*@${N4}`));
    assert.doesNotMatch(goneText, /element/, "the set goes whole, not element by element");
    assert.ok(
      goneText.endsWith(`delete set inet microseg ${N4}\n`) &&
        goneText.indexOf(`flush chain inet microseg ${db}\n`) < goneText.indexOf("delete set"),
      "deleted after the rules that used it are rewritten",
    );
    await fake.run(gone);
    const { fake: fresh } = await started();
    assert.equal(fake.dump(), fresh.dump());
  });

  /**
   * db's IPv4 address handed to `other` on veth1 (db keeps its IPv6 one): the transaction's
   * chain adds, and its element lines, which always re-point the maps to `other`'s chains.
   */
  async function handOver(other: DpEndpoint) {
    const { renderer, fake } = await started();
    const moved: DpEndpoint = { ...db, addresses: ["fd00::2"] };
    const tx = renderer.update([
      { type: "endpoint-upserted", endpoint: other },
      { type: "endpoint-upserted", endpoint: moved },
    ]);
    const text = tx.toString();
    const holder = holderComment(other.id);
    const chain = (d: "ingress" | "egress") => endpointChain(other, d);
    assert.deepEqual(
      text.split("\n").filter((l) => l.includes("element")),
      [
        "delete element inet microseg src4 { veth0 . 198.18.0.2 }",
        "delete element inet microseg ep-in4 { 198.18.0.2 }",
        "delete element inet microseg ep-out4 { 198.18.0.2 }",
        "add element inet microseg src4 { veth1 . 198.18.0.2 }",
        `add element inet microseg ep-in4 { 198.18.0.2 comment "${holder}" : jump ${chain("ingress")} }`,
        `add element inet microseg ep-out4 { 198.18.0.2 comment "${holder}" : jump ${chain("egress")} }`,
      ],
    );
    await fake.run(tx);
    return lines(text, "add chain");
  }
  const otherOf = (egress = db.egress): DpEndpoint => ({
    ...db,
    id: "ns/other" as EndpointId,
    interfaceName: "veth1",
    addresses: ["198.18.0.2"],
    egress,
  });

  test("an address moving to another workload with the same policies makes no chain", async () => {
    // The same tiers are the same chains; the map elements name the new holder.
    assert.equal(endpointChain(otherOf(), "ingress"), endpointChain(db, "ingress"));
    assert.deepEqual(await handOver(otherOf()), []);
  });

  test("an address moving to a workload with other policies re-points the maps to its chains", async () => {
    const other = otherOf([]);
    assert.equal(endpointChain(other, "ingress"), endpointChain(db, "ingress"));
    const oout = endpointChain(other, "egress");
    assert.notEqual(oout, endpointChain(db, "egress"));
    // Endpoint chains carry no comment: a chain renamed in place keeps its first one.
    assert.deepEqual(await handOver(other), [`add chain inet microseg ${oout}`]);
  });

  test("an endpoint alone in its chain keeps it: renamed, written from the first rule that changes", async () => {
    const { renderer, fake } = await started();
    await learnRuleHandles(fake, cfg.table, renderer);
    const extra: DpPolicy = { ...dbPolicy, id: "NetworkPolicy/ns/extra" as PolicyId, egress: [] };
    const moved: DpEndpoint = {
      ...db,
      ingress: [db.ingress[0]!, { ...db.ingress[1]!, policies: [dbPolicy.id, extra.id] }],
    };
    const [was, is] = [db, moved].map((e) => endpointChain(e, "ingress"));
    const written = (name: string) =>
      fake
        .dump()
        .split("\n")
        .filter((l) => l.startsWith(`add rule inet microseg ${name} `));
    const before = written(was!);
    const tx = renderer.update([
      { type: "policy-upserted", policy: extra },
      { type: "endpoint-upserted", endpoint: moved },
    ]);
    const text = tx.toString();
    assert.deepEqual(lines(text, "rename chain"), [`rename chain inet microseg ${was} ${is}`]);
    assert.deepEqual(lines(text, "add chain inet microseg ep-"), []);
    // The transaction names the chain by its old name: the kernel renames it at commit.
    const added = lines(text, `add rule inet microseg ${was} `);
    assert.ok(added.length > 0 && added.length < before.length, `${added.length} rules written`);
    assert.ok(lines(text, `delete rule inet microseg ${was} handle`).length > 0);
    assert.deepEqual(lines(text, "add element inet microseg ep-in"), [], "the maps follow it");
    await fake.run(tx);
    assert.equal(written(was!).length, 0);
    assert.equal(written(is!).length, before.length + 1, "one jump more: the new policy's");
  });

  test("removals go endpoints, then policies, then sets, each chain emptied first", async () => {
    const { renderer, fake } = await started();
    const tx = renderer.update([
      { type: "endpoint-removed", id: db.id },
      { type: "policy-removed", id: dbPolicy.id },
      { type: "policy-removed", id: secPolicy.id },
      { type: "set-removed", id: web.id },
      { type: "set-removed", id: http.id },
    ]);
    const ep = (d: "ingress" | "egress") => endpointChain(db, d);
    const pol = (p: DpPolicy, d: "ingress" | "egress") => policyChain(p.id, d);
    assert.equal(
      tx.toString(),
      [
        "delete element inet microseg wl4 { 198.18.0.2 }",
        "delete element inet microseg self4 { 198.18.0.2 . 198.18.0.2 }",
        "delete element inet microseg src4 { veth0 . 198.18.0.2 }",
        "delete element inet microseg ep-in4 { 198.18.0.2 }",
        "delete element inet microseg ep-out4 { 198.18.0.2 }",
        "delete element inet microseg wl6 { fd00::2 }",
        "delete element inet microseg self6 { fd00::2 . fd00::2 }",
        "delete element inet microseg src6 { veth0 . fd00::2 }",
        "delete element inet microseg ep-in6 { fd00::2 }",
        "delete element inet microseg ep-out6 { fd00::2 }",
        ...[ep("ingress"), ep("egress")].flatMap((c) => [
          `flush chain inet microseg ${c}`,
          `delete chain inet microseg ${c}`,
        ]),
        ...[dbPolicy, secPolicy].flatMap((p) =>
          [pol(p, "ingress"), pol(p, "egress")].flatMap((c) => [
            `flush chain inet microseg ${c}`,
            `delete chain inet microseg ${c}`,
          ]),
        ),
        `delete set inet microseg ${A4}`,
        `delete set inet microseg ${A6}`,
        `delete set inet microseg ${P4}`,
        `delete set inet microseg ${P6}`,
        "",
      ].join("\n"),
    );
    await fake.run(tx);
    const empty = new MemoryNftables();
    await empty.run(
      new NftRenderer(cfg).full({ sets: new Map(), policies: new Map(), endpoints: new Map() }),
    );
    assert.equal(fake.dump(), empty.dump());
  });

  test("the full render replaces whatever the table holds, and is idempotent", async () => {
    const { renderer, fake } = await started();
    const before = fake.dump();
    const state = {
      sets: new Map([
        [web.id, { spec: web as SetSpec, members: memberMap(["198.18.0.1", "fd00::1"]) }],
        [http.id, { spec: http as SetSpec, members: memberMap(["198.18.0.2,TCP,8080"]) }],
      ]),
      policies: new Map([
        [dbPolicy.id, dbPolicy],
        [secPolicy.id, secPolicy],
      ]),
      endpoints: new Map([[db.id, db]]),
    };
    const tx = renderer.full(state);
    assert.deepEqual(tx.toString().split("\n").slice(0, 3), [
      "add table inet microseg",
      "delete table inet microseg",
      "add table inet microseg",
    ]);
    await fake.run(tx);
    assert.equal(fake.dump(), before);
    await fake.run(renderer.full(state));
    assert.equal(fake.dump(), before);
  });
});

describe("start-up table and log prefixes", () => {
  test("the bootstrap table drops new traffic of workload interfaces and ranges on every hook", () => {
    const tx = bootstrapTransaction({
      ...cfg,
      workloadCidrs: ["198.18.0.0/15", "198.18.1.0/24", "fd00::/8"],
    });
    const b = 'counter log prefix "ms|B|-|-|-|-" group 1 drop';
    assert.equal(
      tx.toString(),
      [
        "add table inet microseg",
        "delete table inet microseg",
        "add table inet microseg",
        "add chain inet microseg forward { type filter hook forward priority 0; policy accept; }",
        "add rule inet microseg forward ct state established,related counter accept",
        "add rule inet microseg forward ct state invalid counter drop",
        `add rule inet microseg forward meta iifname "veth*" ${b}`,
        `add rule inet microseg forward ip saddr 198.18.0.0/15 ${b}`,
        `add rule inet microseg forward ip6 saddr fd00::/8 ${b}`,
        `add rule inet microseg forward meta oifname "veth*" ${b}`,
        `add rule inet microseg forward ip daddr 198.18.0.0/15 ${b}`,
        `add rule inet microseg forward ip6 daddr fd00::/8 ${b}`,
        "add chain inet microseg input { type filter hook input priority 0; policy accept; }",
        'add rule inet microseg input meta iifname "lo" counter accept',
        "add rule inet microseg input ct state established,related counter accept",
        "add rule inet microseg input ct state invalid counter drop",
        `add rule inet microseg input meta iifname "veth*" ${b}`,
        `add rule inet microseg input ip saddr 198.18.0.0/15 ${b}`,
        `add rule inet microseg input ip6 saddr fd00::/8 ${b}`,
        "add chain inet microseg output { type filter hook output priority 0; policy accept; }",
        'add rule inet microseg output meta oifname "lo" counter accept',
        "add rule inet microseg output ct state established,related counter accept",
        "add rule inet microseg output ct state invalid counter drop",
        `add rule inet microseg output meta oifname "veth*" ${b}`,
        `add rule inet microseg output ip daddr 198.18.0.0/15 ${b}`,
        `add rule inet microseg output ip6 daddr fd00::/8 ${b}`,
        "",
      ].join("\n"),
    );
  });

  test("a prefix too long for the kernel names the policy by hash, and reads back", () => {
    const policy = `NetworkPolicy/${"n".repeat(60)}/${"p".repeat(60)}` as PolicyId;
    const text = formatLogPrefix({
      action: "D",
      direction: "egress",
      tier: "default",
      policy,
      rule: 3,
    });
    assert.equal(text, `ms|D|e|default|${logKey(policy)}|3`);
    assert.deepEqual(parseLogPrefix(text), {
      action: "D",
      direction: "egress",
      tier: "default",
      policy: logKey(policy),
      rule: 3,
    });
    assert.deepEqual(parseLogPrefix("ms|T|i|security|-|-"), {
      action: "T",
      direction: "ingress",
      tier: "security",
    });
    assert.equal(parseLogPrefix("IN=eth0 OUT="), undefined);
  });
});
