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
//   forward: no frame is bridged to or from a workload port. Pods reach each other through
//   the host (the plugin turns on the bridge's proxy_arp_pvlan and isolates the port), so
//   every pod-to-pod packet meets the inet table's forward hook and its per-endpoint policy.
//
// The table is small (one element per pod port and address) and is rewritten whole in one
// transaction whenever a port comes or goes.

import type { IpFamily } from "../../net/cidr.ts";
import type { Nftables, Stmt } from "../../nft/index.ts";
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
const PORTS = "ports";
const sources = (f: IpFamily) => `src${f}`;
const arpSender = { kind: "payload", protocol: "arp", field: "saddr ip" } as const;
const arpSenderMac = { kind: "payload", protocol: "arp", field: "saddr ether" } as const;
const etherSource = { kind: "payload", protocol: "ether", field: "saddr" } as const;

function fromPortRules(): Stmt[][] {
  const ownMac = eq(concat(meta.iifname, arpSenderMac), ref(PORTS));
  return [
    [ne(concat(meta.iifname, etherSource), ref(PORTS)), counter(), verdict.drop],
    [eq(concat(meta.iifname, arpSender), ref(sources(4))), ownMac, counter(), verdict.accept],
    [eq(arpSender, "0.0.0.0"), ownMac, counter(), verdict.accept],
    [eq(concat(meta.iifname, ip.saddr), ref(sources(4))), counter(), verdict.accept],
    [eq(concat(meta.iifname, ip6.saddr), ref(sources(6))), counter(), verdict.accept],
    [
      eq(ip6.saddr, "fe80::/10"),
      eq(icmpv6.type, anon(131, 133, 135, 136, 143)),
      counter(),
      verdict.accept,
    ],
    [eq(ip6.saddr, "::"), eq(icmpv6.type, anon(131, 135, 143)), counter(), verdict.accept],
    [counter(), verdict.drop],
  ];
}

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
    .add({ kind: "set", name: sources(6), type: ["ifname", "ipv6_addr"] });
  const portKeys = ports.map((p) => ({ key: [p.port, p.mac] }));
  const sourceKeys = (family: 4 | 6) =>
    ports.flatMap((p) =>
      p.addresses
        .filter((a) => a.includes(":") === (family === 6))
        .map((a) => ({ key: [p.port, a] })),
    );
  for (const [set, elements] of [
    [PORTS, portKeys],
    [sources(4), sourceKeys(4)],
    [sources(6), sourceKeys(6)],
  ] as const) {
    if (elements.length > 0) tx.add({ kind: "element", set, elements: [...elements] });
  }
  tx.add({ kind: "chain", name: FROM_PORT });
  for (const body of fromPortRules()) tx.add({ kind: "rule", chain: FROM_PORT, body });
  for (const [hook, priority] of [
    ["prerouting", -300],
    ["forward", 0],
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
