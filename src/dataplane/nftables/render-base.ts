// The base chains, where packets enter microseg's table, and the start-up table.
//
// forward, input and output all dispatch the same way: a packet from a local endpoint's
// address jumps to that endpoint's egress chain, one to such an address to its ingress chain,
// both through verdict maps keyed by address. Forwarded pod-to-pod traffic meets forward;
// pod-to-node traffic meets input and node-to-pod traffic output, so host endpoints and pods
// are enforced alike. Replies of allowed connections pass on conntrack first.

import type { IpFamily } from "../../net/cidr.ts";
import type { ChainObject, Stmt } from "../../nft/index.ts";
import {
  anon,
  counter,
  ct,
  eq,
  icmpv6,
  ip,
  ip6,
  log,
  meta,
  ne,
  ref,
  states,
  Transaction,
  th,
  verdict,
  vmap,
} from "../../nft/index.ts";
import type { EnforcementConfig, FailsafePort } from "./enforcement.ts";
import { formatLogPrefix } from "./log-prefix.ts";
import { dispatchMap, localSet } from "./names.ts";
import { headerValue, mergedIntervals, mergedPorts } from "./set-elements.ts";

export interface BaseChainSpec {
  readonly chain: ChainObject;
  readonly rules: Stmt[][];
}

const FAMILIES: IpFamily[] = [4, 6];
const addr = (f: IpFamily) => (f === 4 ? ip : ip6);

const hook = (name: "forward" | "input" | "output"): ChainObject => ({
  kind: "chain",
  name,
  base: { type: "filter", hook: name, priority: 0, policy: "accept" },
});

const conntrack: Stmt[][] = [
  [eq(ct.state, states("established", "related")), counter(), verdict.accept],
  [eq(ct.state, states("invalid")), counter(), verdict.drop],
];

// Neighbour discovery is not tracked as a connection and must pass for IPv6 to work at all.
const neighbourDiscovery: Stmt[] = [
  eq(icmpv6.type, anon(133, 134, 135, 136)),
  counter(),
  verdict.accept,
];

function failsafe(ports: readonly FailsafePort[]): Stmt[][] {
  return (["tcp", "udp"] as const).flatMap((protocol) => {
    const mine = ports.filter((p) => p.protocol === protocol);
    if (mine.length === 0) return [];
    const dports = headerValue(mergedPorts(mine));
    return [[eq(meta.l4proto, protocol), eq(th.dport, dports), counter(), verdict.accept]];
  });
}

/** A workload interface may only carry local endpoints' addresses (fail closed on the rest). */
function unknownAddresses(cfg: EnforcementConfig, sides: Array<"from" | "to">): Stmt[][] {
  const out: Stmt[][] = [];
  for (const side of sides) {
    const prefix = formatLogPrefix({
      action: "S",
      direction: side === "from" ? "egress" : "ingress",
    });
    for (const pattern of cfg.workloadInterfaces) {
      for (const f of FAMILIES) {
        out.push([
          eq(side === "from" ? meta.iifname : meta.oifname, pattern),
          ne(addr(f)[side === "from" ? "saddr" : "daddr"], ref(localSet(f))),
          counter(),
          log({ prefix, group: cfg.nflogGroup }),
          verdict.drop,
        ]);
      }
    }
  }
  return out;
}

const dispatch: Stmt[][] = [
  ...FAMILIES.map((f) => [counter(), vmap(addr(f).saddr, dispatchMap("egress", f))]),
  ...FAMILIES.map((f) => [counter(), vmap(addr(f).daddr, dispatchMap("ingress", f))]),
];

export function baseChains(cfg: EnforcementConfig): BaseChainSpec[] {
  return [
    {
      chain: hook("forward"),
      rules: [...conntrack, ...unknownAddresses(cfg, ["from", "to"]), ...dispatch],
    },
    {
      chain: hook("input"),
      rules: [
        [eq(meta.iifname, "lo"), counter(), verdict.accept],
        ...failsafe(cfg.failsafeInbound),
        neighbourDiscovery,
        ...conntrack,
        ...unknownAddresses(cfg, ["from"]),
        ...dispatch,
      ],
    },
    {
      chain: hook("output"),
      rules: [
        [eq(meta.oifname, "lo"), counter(), verdict.accept],
        ...failsafe(cfg.failsafeOutbound),
        neighbourDiscovery,
        ...conntrack,
        ...unknownAddresses(cfg, ["to"]),
        ...dispatch,
      ],
    },
  ];
}

/** Starts a transaction that replaces the table, whatever it holds, with what follows. */
export function replacingTable(table: string): Transaction {
  return new Transaction({ family: "inet", table })
    .add({ kind: "table" })
    .delete({ kind: "table" })
    .add({ kind: "table" });
}

/**
 * The table before the first full sync: nothing new reaches or leaves a workload, by interface
 * and by workload range, while established connections carry on.
 */
export function bootstrapTransaction(cfg: EnforcementConfig): Transaction {
  const tx = replacingTable(cfg.table);
  const forward = hook("forward");
  tx.add(forward);
  const drop = (match: Stmt): Stmt[] => [
    match,
    counter(),
    log({ prefix: formatLogPrefix({ action: "B" }), group: cfg.nflogGroup }),
    verdict.drop,
  ];
  const rules: Stmt[][] = [...conntrack];
  for (const pattern of cfg.workloadInterfaces) {
    rules.push(drop(eq(meta.iifname, pattern)), drop(eq(meta.oifname, pattern)));
  }
  for (const f of FAMILIES) {
    const cidrs = cfg.workloadCidrs.filter((c) => c.includes(":") === (f === 6));
    if (cidrs.length === 0) continue;
    const set = headerValue(mergedIntervals(cidrs));
    rules.push(drop(eq(addr(f).saddr, set)), drop(eq(addr(f).daddr, set)));
  }
  for (const body of rules) tx.add({ kind: "rule", chain: forward.name, body });
  return tx;
}
