// The bridge table (`bridge <table>`): what the inet table cannot see when pods hang off a
// Linux bridge (Debian's `bridge` CNI plugin). In the inet family a packet from a bridge port
// enters on the bridge itself (`iifname cni0`), so `iifname . saddr` cannot tell one pod from
// another; and frames between two ports of one bridge never reach the inet hooks at all.
//
// The workload interface patterns apply here to bridge ports (`iifname`/`oifname` in the
// bridge family are ports: `veth*` for the bridge plugin's host veths), as they apply to the
// bridge in the inet table (`cni0`). Matching by the bridge (`meta ibrname`) needs the
// kernel's nft_meta_bridge, which Debian's and this machine's kernels may leave out.
//   prerouting (priority -300, before the bridge learns the source MAC and before
//   conntrack): a frame entering on a workload port must come from the MAC the CNI plugin
//   reported for that port, and its IPv4/IPv6 source or ARP sender must be an address of the
//   pod on that port; IPv6 link-local/unspecified only for neighbour discovery and MLD, ARP
//   probes (sender 0.0.0.0) from the port's own MAC. Everything else, and every frame of a
//   port no plugin reported, is dropped: a new pod is closed from its first frame.
//   Neighbour discovery (RS, NS, NA) is what tells the node which MAC an IPv6 address is at,
//   as ARP is for IPv4, so its payload is checked too (nft 1.0.6 names none of its fields:
//   raw transport-header bits, `@th,OFFSET,LEN`): no extension header, hop limit 255, a
//   link-layer address option only as the one option and only with the port's MAC, a
//   neighbour advertisement's target one of the port's addresses (or link-local: the node
//   does not know pods' link-local addresses), and nothing else in the packet, so no second
//   option can say otherwise.
//   forward: no frame is bridged to or from a workload port. Pods reach each other through
//   the host (the plugin turns on the bridge's proxy_arp_pvlan and proxy NDP and isolates the
//   port), so every pod-to-pod packet meets the inet table's forward hook and its
//   per-endpoint policy.
//   output: the node's (proxy) advertisements of a pod's own address to that pod are
//   dropped: they would fail the pod's duplicate address detection when it runs again.
//
// The table is small (one element per pod port and address) and is rewritten whole in one
// transaction whenever a port comes or goes.

import { type IpFamily, integerOf, parseAddress } from "../../net/cidr.ts";
import type { Expr, Nftables, Stmt } from "../../nft/index.ts";
import {
  anon,
  concat,
  counter,
  dumpSorted,
  eq,
  icmpv6,
  ip,
  ip6,
  MemoryNftables,
  meta,
  ne,
  ref,
  Transaction,
  verdict,
} from "../../nft/index.ts";
import { compareDumps, type DriftReport } from "./drift.ts";
import type { EnforcementConfig } from "./enforcement.ts";

/** A pod's port on a bridge, as its CNI plugin reported it. */
export interface BridgePort {
  /** The host-side veth enslaved to the bridge. */
  readonly port: string;
  /** The pod's own interface MAC, lower case. */
  readonly mac: string;
  readonly addresses: readonly string[];
}

const FROM_PORT = "from-port";
const ND_FROM_PORT = "nd-from-port";
const NA_TARGET = "na-target";
const PORTS = "ports";
/** `iifname . link-layer address option's MAC` of each port, as raw bits. */
const LLADDR = "lladdr";
/** `iifname . address` of each port's IPv6 addresses, as raw bits: advertisement targets. */
const ND_TARGETS = "nd-targets";
const sources = (f: IpFamily) => `src${f}`;
const arpSender = { kind: "payload", protocol: "arp", field: "saddr ip" } as const;
const arpSenderMac = { kind: "payload", protocol: "arp", field: "saddr ether" } as const;
const etherSource = { kind: "payload", protocol: "ether", field: "saddr" } as const;
const ip6Field = (field: "length" | "nexthdr" | "hoplimit"): Expr => ({
  kind: "payload",
  protocol: "ip6",
  field,
});
/** Bits of the ICMPv6 message: `at` and `len` in bits from its first byte. */
const bits = (at: number, len: number): Expr => ({ kind: "raw", base: "th", offset: at, len });

// ICMPv6 types (RFC 4861) and the option that carries a link-layer address.
const MLD_REPORT = 131;
const MLD2_REPORT = 143;
const RS = 133;
const NS = 135;
const NA = 136;
/** Option type and length (in 8 bytes): 1 source, 2 target link-layer address; 14 nonce. */
const option = (type: number) => (type << 8) | 1;
const SOURCE_LLA = option(1);
const TARGET_LLA = option(2);
const NONCE = option(14);
/** Where the fixed part of each message ends and its first option starts, in bits. */
const RS_FIXED = 64;
const NS_NA_FIXED = 192;
/** An address option's MAC: after its type and length bytes. */
const lladdrAt = (fixed: number) => bits(fixed + 16, 48);
/** The first option is `type`, and the MAC it carries is the port's. */
const lladdrOption = (fixed: number, type: number): Stmt[] => [
  eq(bits(fixed, 16), type),
  eq(concat(meta.iifname, lladdrAt(fixed)), ref(LLADDR)),
];
/** The ICMPv6 message's length with this many 8-byte options: the IPv6 payload length. */
const bytes = (fixed: number, options: number) => (fixed + options * 64) / 8;

function fromPortRules(): Stmt[][] {
  const ownMac = eq(concat(meta.iifname, arpSenderMac), ref(PORTS));
  return [
    [ne(concat(meta.iifname, etherSource), ref(PORTS)), counter(), verdict.drop],
    [eq(concat(meta.iifname, arpSender), ref(sources(4))), ownMac, counter(), verdict.accept],
    [eq(arpSender, "0.0.0.0"), ownMac, counter(), verdict.accept],
    [eq(concat(meta.iifname, ip.saddr), ref(sources(4))), counter(), verdict.accept],
    // Checked whatever the source: returns only when the message may be sent.
    [eq(icmpv6.type, anon(RS, NS, NA)), counter(), verdict.jump(ND_FROM_PORT)],
    [eq(concat(meta.iifname, ip6.saddr), ref(sources(6))), counter(), verdict.accept],
    [
      eq(ip6.saddr, "fe80::/10"),
      eq(icmpv6.type, anon(MLD_REPORT, RS, NS, NA, MLD2_REPORT)),
      counter(),
      verdict.accept,
    ],
    [
      eq(ip6.saddr, "::"),
      eq(icmpv6.type, anon(MLD_REPORT, NS, MLD2_REPORT)),
      counter(),
      verdict.accept,
    ],
    [counter(), verdict.drop],
  ];
}

/** Neighbour discovery from a port: return if it says only what the port may say, else drop. */
function ndRules(): Stmt[][] {
  const type = (t: number) => eq(icmpv6.type, t);
  const length = (n: number) => eq(ip6Field("length"), n);
  return [
    [ne(ip6Field("nexthdr"), "icmpv6"), counter(), verdict.drop],
    [ne(ip6Field("hoplimit"), 255), counter(), verdict.drop],
    [type(NA), counter(), verdict.jump(NA_TARGET)],
    [type(RS), length(bytes(RS_FIXED, 0)), counter(), verdict.return],
    [
      type(RS),
      length(bytes(RS_FIXED, 1)),
      ...lladdrOption(RS_FIXED, SOURCE_LLA),
      counter(),
      verdict.return,
    ],
    [eq(icmpv6.type, anon(NS, NA)), length(bytes(NS_NA_FIXED, 0)), counter(), verdict.return],
    [
      type(NS),
      length(bytes(NS_NA_FIXED, 1)),
      ...lladdrOption(NS_NA_FIXED, SOURCE_LLA),
      counter(),
      verdict.return,
    ],
    [
      type(NA),
      length(bytes(NS_NA_FIXED, 1)),
      ...lladdrOption(NS_NA_FIXED, TARGET_LLA),
      counter(),
      verdict.return,
    ],
    // Duplicate address detection's probe may carry a nonce (RFC 7527), never an address.
    [
      type(NS),
      eq(ip6.saddr, "::"),
      length(bytes(NS_NA_FIXED, 1)),
      eq(bits(NS_NA_FIXED, 16), NONCE),
      counter(),
      verdict.return,
    ],
    [counter(), verdict.drop],
  ];
}

/** A neighbour advertisement's target: one of the port's addresses, or link-local. */
const naTargetRules = (): Stmt[][] => [
  [eq(concat(meta.iifname, bits(64, 128)), ref(ND_TARGETS)), counter(), verdict.return],
  [eq(bits(64, 32), 0xfe800000), eq(bits(96, 32), 0), counter(), verdict.return],
  [counter(), verdict.drop],
];

/** An IPv6 address or a MAC as the integer nft compares raw bits with. */
const integer = (bytes: Uint8Array) => `0x${integerOf(bytes).toString(16)}`;
const macInteger = (mac: string) => `0x${BigInt(`0x${mac.replaceAll(":", "")}`).toString(16)}`;

/** The whole bridge table for these ports, replacing whatever the kernel holds. */
export function bridgeTransaction(
  cfg: Pick<EnforcementConfig, "table" | "workloadInterfaces">,
  ports: readonly BridgePort[],
): Transaction {
  const tx = new Transaction({ family: "bridge", table: cfg.table })
    .add({ kind: "table" })
    .delete({ kind: "table" })
    .add({ kind: "table" })
    .add({ kind: "set", name: PORTS, type: ["ifname", "ether_addr"] })
    .add({ kind: "set", name: sources(4), type: ["ifname", "ipv4_addr"] })
    .add({ kind: "set", name: sources(6), type: ["ifname", "ipv6_addr"] })
    .add({ kind: "set", name: LLADDR, typeof: [meta.iifname, lladdrAt(NS_NA_FIXED)] })
    .add({ kind: "set", name: ND_TARGETS, typeof: [meta.iifname, bits(64, 128)] });
  const portKeys = ports.map((p) => ({ key: [p.port, p.mac] }));
  const sourceKeys = (family: 4 | 6) =>
    ports.flatMap((p) =>
      p.addresses
        .filter((a) => a.includes(":") === (family === 6))
        .map((a) => ({ key: [p.port, a] })),
    );
  const lladdrKeys = ports.map((p) => ({ key: [p.port, macInteger(p.mac)] }));
  const targetKeys = sourceKeys(6).map(({ key: [port, a] }) => ({
    key: [port!, integer(parseAddress(String(a)).bytes)],
  }));
  for (const [set, elements] of [
    [PORTS, portKeys],
    [sources(4), sourceKeys(4)],
    [sources(6), sourceKeys(6)],
    [LLADDR, lladdrKeys],
    [ND_TARGETS, targetKeys],
  ] as const) {
    if (elements.length > 0) tx.add({ kind: "element", set, elements: [...elements] });
  }
  const chains = [
    [FROM_PORT, fromPortRules()],
    [ND_FROM_PORT, ndRules()],
    [NA_TARGET, naTargetRules()],
  ] as const;
  // Every chain before any rule: rules jump to the chains after them.
  for (const [chain] of chains) tx.add({ kind: "chain", name: chain });
  for (const [chain, rules] of chains)
    for (const body of rules) tx.add({ kind: "rule", chain, body });
  for (const [hook, priority] of [
    ["prerouting", -300],
    ["forward", 0],
    ["output", 0],
  ] as const) {
    tx.add({
      kind: "chain",
      name: hook,
      base: { type: "filter", hook, priority, policy: "accept" },
    });
    for (const pattern of cfg.workloadInterfaces) {
      if (hook === "prerouting") {
        tx.add({
          kind: "rule",
          chain: hook,
          body: [eq(meta.iifname, pattern), counter(), verdict.jump(FROM_PORT)],
        });
        continue;
      }
      if (hook === "output") {
        const out = eq(meta.oifname, pattern);
        tx.add({
          kind: "rule",
          chain: hook,
          body: [
            out,
            eq(icmpv6.type, NA),
            eq(concat(meta.oifname, bits(64, 128)), ref(ND_TARGETS)),
            counter(),
            verdict.drop,
          ],
        });
        continue;
      }
      for (const side of [meta.iifname, meta.oifname]) {
        tx.add({ kind: "rule", chain: hook, body: [eq(side, pattern), counter(), verdict.drop] });
      }
    }
  }
  return tx;
}

/** The live bridge table against the one these ports render to (as the inet drift check). */
export async function bridgeDrift(
  nft: Nftables,
  cfg: Pick<EnforcementConfig, "table" | "workloadInterfaces">,
  ports: readonly BridgePort[],
): Promise<DriftReport> {
  const fake = new MemoryNftables();
  await fake.run(bridgeTransaction(cfg, ports));
  const live = await nft.read("bridge", cfg.table);
  return compareDumps(fake.dump(), live ? dumpSorted(live) : "");
}
