// The base chains, where packets enter microseg's table, and the start-up table.
//
// prerouting (priority raw, before conntrack): a packet entering on a workload interface must
// carry an address of the workload on that interface (`iifname . saddr` pairs), and a local
// workload's address is accepted from nowhere else; so no workload passes as another and no
// spoofed packet ever creates a connection entry.
//
// forward, input and output then dispatch the same way: a packet from a local endpoint's
// address jumps to that endpoint's egress chain, one to such an address to its ingress chain,
// both through verdict maps keyed by address (an ingress chain always ends in accept or drop,
// so a forwarded packet past dispatch that leaves on a workload interface is for no local
// endpoint, and is dropped). Forwarded pod-to-pod traffic meets forward;
// pod-to-node traffic meets input (the workload's egress policy, then the endpoint-to-host
// action: the failsafe ports are never for workloads) and node-to-pod traffic output (the
// workload's ingress policy always applies; outbound failsafe ports are for other
// destinations). Replies of allowed connections pass on conntrack first; packets related to a
// connection (ICMP errors) only when they come from one of its ends or from a router on the
// path, never from a local workload that is neither end. The rules every packet meets come
// first and are few: a workload's packet meets one lookup in prerouting, an established one
// one rule in forward, a new one three before dispatch.
//
// Host endpoint stages (Calico's untracked, pre-DNAT and forward policy) hang off the same
// hooks through small dispatch chains keyed by the host endpoint's interface: the end of the
// raw prerouting chain and a raw output chain (untracked, before conntrack), a prerouting chain
// at mangle priority (pre-DNAT, before DNAT), and forward before workload dispatch. A stage
// that allows marks the packet, and later host endpoint policy lets it through; workload
// policy never looks at the mark.

import type { DpHostStages, DpTierRef, EndpointId } from "../../engine/index.ts";
import type { IpFamily } from "../../net/cidr.ts";
import type { ChainObject, Stmt } from "../../nft/index.ts";
import {
  and,
  anon,
  concat,
  counter,
  ct,
  eq,
  icmpv6,
  ip,
  ip6,
  log,
  meta,
  ne,
  notrack,
  ref,
  setMark,
  states,
  Transaction,
  th,
  verdict,
  vmap,
} from "../../nft/index.ts";
import { type EnforcementConfig, type FailsafePort, MARK_HOST_ALLOWED } from "./enforcement.ts";
import { formatLogPrefix } from "./log-prefix.ts";
import {
  CT_RELATED,
  dispatchMap,
  FROM_WORKLOAD,
  HEP_FORWARD,
  HEP_PREDNAT,
  HEP_UNTRACKED_IN,
  HEP_UNTRACKED_OUT,
  HOST_TO_WORKLOAD,
  hostStageChain,
  selfSet,
  sourceSet,
  WORKLOAD_TO_HOST,
  workloadSet,
} from "./names.ts";
import { headerValue, mergedIntervals, mergedPorts } from "./set-elements.ts";

export interface BaseChainSpec {
  readonly chain: ChainObject;
  readonly rules: Stmt[][];
}

const FAMILIES: IpFamily[] = [4, 6];
const addr = (f: IpFamily) => (f === 4 ? ip : ip6);

type Hook = "prerouting" | "forward" | "input" | "output";

/** Source validation and untracked policy run at raw priority, before conntrack (-200). */
const RAW = -300;
/** Pre-DNAT policy runs at mangle priority: after conntrack, before DNAT (-100). */
const MANGLE = -150;

const hook = (name: Hook, chain: string = name, priority = name === "prerouting" ? RAW : 0) =>
  ({
    kind: "chain",
    name: chain,
    base: { type: "filter", hook: name, priority, policy: "accept" },
  }) satisfies ChainObject;

const hostAllowed = eq(and(meta.mark, MARK_HOST_ALLOWED), MARK_HOST_ALLOWED);
/** An earlier host endpoint stage allowed the packet: host endpoint policy is done with it. */
const skipHostPolicy: Stmt[] = [hostAllowed, counter(), verdict.accept];

const invalid: Stmt[] = [eq(ct.state, states("invalid")), counter(), verdict.drop];

/** The start-up table has no workload sets: related packets pass there as established ones. */
const conntrack: Stmt[][] = [
  [eq(ct.state, states("established", "related")), counter(), verdict.accept],
  invalid,
];

/**
 * Established packets pass; related ones go to the related chain; invalid ones are dropped. A
 * new packet meets three rules here, whatever the related checks hold.
 */
const tracked: Stmt[][] = [
  [eq(ct.state, states("established")), counter(), verdict.accept],
  [eq(ct.state, states("related")), counter(), verdict.goto(CT_RELATED)],
  invalid,
];

/**
 * A related packet (an ICMP error whose inner header names a tracked connection) passes when
 * its source is an end of that connection (`saddr . ct original saddr|daddr` in the self pairs
 * of local workloads) or is no local workload at all (a router, the node, a remote host). A
 * local workload sending an error about a connection it is not part of is dropped: it could
 * otherwise reset or re-route another workload's connections.
 */
function relatedRules(cfg: EnforcementConfig): Stmt[][] {
  return [
    ...FAMILIES.flatMap((f) => {
      const original = f === 4 ? ct.original.ip : ct.original.ip6;
      return [
        ...[original.saddr, original.daddr].map((end) => [
          eq(concat(addr(f).saddr, end), ref(selfSet(f))),
          counter(),
          verdict.accept,
        ]),
        [eq(addr(f).saddr, ref(workloadSet(f))), ...logDrop(cfg, RELATED_FORGED)],
      ];
    }),
    [counter(), verdict.accept],
  ];
}

// Neighbour discovery is not tracked as a connection and must pass for IPv6 to work at all.
const neighbourDiscovery: Stmt[] = [
  eq(icmpv6.type, anon(133, 134, 135, 136)),
  counter(),
  verdict.accept,
];

/** The failsafe ports' rules: `match` first, then protocol and port, then `end`. */
function failsafe(
  ports: readonly FailsafePort[],
  match: Stmt[] = [],
  end: Stmt = verdict.accept,
): Stmt[][] {
  return (["tcp", "udp"] as const).flatMap((protocol) => {
    const mine = ports.filter((p) => p.protocol === protocol);
    if (mine.length === 0) return [];
    const dports = headerValue(mergedPorts(mine));
    return [[...match, eq(meta.l4proto, protocol), eq(th.dport, dports), counter(), end]];
  });
}

/**
 * Failsafe ports before the untracked and pre-DNAT stages, as Calico keeps them open on every
 * host endpoint whatever its policy: inbound to a staged host endpoint's own addresses, and the
 * host's own outbound, skip the stage (return: tracked, and normal policy and failsafe follow).
 */
function stageFailsafe(
  cfg: EnforcementConfig,
  hosts: readonly StagedHost[],
  side: "in" | "out",
): Stmt[][] {
  if (side === "out") return failsafe(cfg.failsafeOutbound, [], verdict.return);
  const addresses = [...new Set(hosts.flatMap((h) => h.addresses))].sort();
  return FAMILIES.flatMap((f) => {
    const mine = addresses.filter((a) => a.includes(":") === (f === 6));
    if (mine.length === 0) return [];
    const to = eq(addr(f).daddr, headerValue(mergedIntervals(mine)));
    return failsafe(cfg.failsafeInbound, [to], verdict.return);
  });
}

const RELATED_FORGED = formatLogPrefix({ action: "S" });

function logDrop(cfg: EnforcementConfig, prefix: string): Stmt[] {
  return [counter(), log({ prefix, group: cfg.nflogGroup }), verdict.drop];
}

const spoofed = (cfg: EnforcementConfig, side: "from" | "to") =>
  logDrop(cfg, formatLogPrefix({ action: "S", direction: side === "from" ? "egress" : "ingress" }));

/** One rule per workload interface pattern. */
const perInterface = (cfg: EnforcementConfig, side: "from" | "to", rest: Stmt[]): Stmt[][] =>
  cfg.workloadInterfaces.map((p) => [
    eq(side === "from" ? meta.iifname : meta.oifname, p),
    ...rest,
  ]);

/**
 * After dispatch: every chain a local endpoint's address leads to ends in accept or drop, so a
 * packet still here that leaves on a workload interface is for no local endpoint (fail closed).
 */
const unknownDestinations = (cfg: EnforcementConfig): Stmt[][] =>
  perInterface(cfg, "to", spoofed(cfg, "to"));

const dispatch: Stmt[][] = [
  ...FAMILIES.map((f) => [counter(), vmap(addr(f).saddr, dispatchMap("egress", f))]),
  ...FAMILIES.map((f) => [counter(), vmap(addr(f).daddr, dispatchMap("ingress", f))]),
];

/** A workload may send from extra prefixes only where the node allows spoofing at all. */
export interface SpoofingWorkload {
  readonly interfaceName: string;
  readonly prefixes: readonly string[];
}

/**
 * The body of `from-workload`, for a workload interface's packets whose source is not the
 * workload's own on that interface (prerouting accepted those): an allowed prefix; IPv6
 * link-local and unspecified sources only for neighbour discovery, router solicitation and
 * multicast listener reports, which never leave the link; else the packet is dropped.
 */
export function fromWorkloadRules(
  cfg: EnforcementConfig,
  spoofing: readonly SpoofingWorkload[],
): Stmt[][] {
  const rules: Stmt[][] = [];
  for (const w of cfg.workloadSourceSpoofing ? spoofing : []) {
    for (const f of FAMILIES) {
      const mine = w.prefixes.filter((p) => p.includes(":") === (f === 6));
      if (mine.length === 0) continue;
      rules.push([
        eq(meta.iifname, w.interfaceName),
        eq(addr(f).saddr, headerValue(mergedIntervals(mine))),
        counter(),
        verdict.accept,
      ]);
    }
  }
  rules.push(
    [
      eq(ip6.saddr, "fe80::/10"),
      eq(icmpv6.type, anon(131, 133, 135, 136, 143)),
      counter(),
      verdict.accept,
    ],
    [eq(ip6.saddr, "::"), eq(icmpv6.type, anon(131, 135, 143)), counter(), verdict.accept],
    spoofed(cfg, "from"),
  );
  return rules;
}

export function regularChains(cfg: EnforcementConfig): BaseChainSpec[] {
  // Return: on to the ingress policy of the host endpoint holding the address, if any.
  const hostIngress = FAMILIES.map((f) => [
    counter(),
    vmap(addr(f).daddr, dispatchMap("ingress", f)),
  ]);
  const toHost: Stmt[][] =
    cfg.endpointToHostAction === "Drop"
      ? [logDrop(cfg, formatLogPrefix({ action: "H", direction: "egress" }))]
      : cfg.endpointToHostAction === "Accept"
        ? [[counter(), verdict.accept]]
        : [...hostIngress, [counter(), verdict.accept]];
  return [
    {
      chain: { kind: "chain", name: WORKLOAD_TO_HOST },
      // The workload's egress policy returns when it allows; the failsafe ports never apply.
      rules: [
        ...FAMILIES.map((f) => [counter(), vmap(addr(f).saddr, dispatchMap("egress", f))]),
        ...toHost,
      ],
    },
    {
      chain: { kind: "chain", name: HOST_TO_WORKLOAD },
      rules: [...dispatch, spoofed(cfg, "to")],
    },
    { chain: { kind: "chain", name: CT_RELATED }, rules: relatedRules(cfg) },
  ];
}

export function baseChains(cfg: EnforcementConfig): BaseChainSpec[] {
  return [
    {
      chain: hook("prerouting"),
      rules: [
        // A workload's own source on its own interface first: every packet of a workload
        // meets one lookup here (the source pairs hold workload interfaces only).
        ...FAMILIES.map((f) => [
          eq(concat(meta.iifname, addr(f).saddr), ref(sourceSet(f))),
          counter(),
          verdict.accept,
        ]),
        ...perInterface(cfg, "from", [counter(), verdict.jump(FROM_WORKLOAD)]),
        ...FAMILIES.map((f) => [eq(addr(f).saddr, ref(workloadSet(f))), ...spoofed(cfg, "from")]),
        // Only packets entering on other interfaces get here: host endpoints' untracked policy.
        [counter(), verdict.jump(HEP_UNTRACKED_IN)],
      ],
    },
    {
      chain: hook("output", RAW_OUTPUT_HOOK, RAW),
      rules: [[counter(), verdict.jump(HEP_UNTRACKED_OUT)]],
    },
    {
      chain: hook("forward"),
      rules: [
        ...tracked,
        // Host endpoints' applyOnForward policy first; workload policy always comes after.
        [counter(), verdict.jump(HEP_FORWARD)],
        ...dispatch,
        ...unknownDestinations(cfg),
      ],
    },
    {
      chain: hook("input"),
      rules: [
        [eq(meta.iifname, "lo"), counter(), verdict.accept],
        neighbourDiscovery,
        ...tracked,
        ...perInterface(cfg, "from", [counter(), verdict.jump(WORKLOAD_TO_HOST)]),
        skipHostPolicy,
        ...failsafe(cfg.failsafeInbound),
        ...dispatch,
      ],
    },
    {
      chain: hook("output"),
      rules: [
        [eq(meta.oifname, "lo"), counter(), verdict.accept],
        neighbourDiscovery,
        ...tracked,
        ...perInterface(cfg, "to", [counter(), verdict.jump(HOST_TO_WORKLOAD)]),
        skipHostPolicy,
        ...failsafe(cfg.failsafeOutbound),
        ...dispatch,
      ],
    },
  ];
}

/**
 * The base chain of host endpoints' pre-DNAT policy, made only while one has some: every packet
 * that is forwarded or comes in meets each base chain of its hooks, and a chain that sends it on
 * to a dispatch chain with nothing to dispatch to is a cost with no effect.
 */
export const preDnatBaseChain = (): BaseChainSpec => ({
  chain: hook("prerouting", PREDNAT_HOOK, MANGLE),
  rules: [
    [eq(ct.state, states("established", "related")), counter(), verdict.accept],
    [counter(), verdict.jump(HEP_PREDNAT)],
  ],
});

/** Whether the dispatch chains send a packet to a pre-DNAT stage chain. */
export const dispatchesPreDnat = (dispatch: ReadonlyMap<string, Stmt[][]>): boolean =>
  (dispatch.get(HEP_PREDNAT) ?? []).some((body) => body.some((st) => st.kind === "jump"));

/** Base chains beside the four hooks' own: pre-DNAT policy, untracked policy on output. */
const PREDNAT_HOOK = "prednat";
const RAW_OUTPUT_HOOK = "raw-output";

/** A host endpoint with stages, as the dispatch chains need it. */
export interface StagedHost {
  readonly id: EndpointId;
  readonly addresses: readonly string[];
  readonly stages: DpHostStages;
}

/**
 * The matches (one rule each) of packets through a host endpoint on their way in or out. `*` is
 * every interface but lo, the workloads' (whose packets meet workload policy, never host
 * endpoint stages) and those a host endpoint is bound to by name or address: an interface has
 * one host endpoint, a named one before the wildcard (Felix). A host endpoint bound to no
 * interface (expectedIPs only, none of them on the node yet) matches packets to (in) or from
 * (out) its addresses on any interface but lo and the workloads': so when an address appears,
 * its traffic is judged before the agent has seen it and bound the interface. Forwarded packets
 * carry neither address: such a host endpoint has no forward stage until it is bound.
 */
function throughHost(
  cfg: EnforcementConfig,
  host: StagedHost,
  named: readonly string[],
  side: "in" | "out",
  forward: boolean,
): Stmt[][] {
  const field = side === "in" ? meta.iifname : meta.oifname;
  const bound = host.stages.interfaces;
  if (bound.length === 0) {
    if (forward) return [];
    const notHost = ["lo", ...cfg.workloadInterfaces].map((p) => ne(field, p));
    return FAMILIES.flatMap((f) => {
      const mine = host.addresses.filter((a) => a.includes(":") === (f === 6));
      if (mine.length === 0) return [];
      const value = headerValue(mergedIntervals(mine));
      return [[...notHost, eq(side === "in" ? addr(f).daddr : addr(f).saddr, value)]];
    });
  }
  return bound.map((name) =>
    name === "*"
      ? ["lo", ...cfg.workloadInterfaces, ...named].map((p) => ne(field, p))
      : [eq(field, name)],
  );
}

/** The stage chains of one host endpoint, with what an allowed packet meets at their end. */
export function hostStageSpecs(
  host: StagedHost,
): Array<{ name: string; d: "ingress" | "egress"; tiers: readonly DpTierRef[]; allowed: Stmt[] }> {
  const { id, stages: s } = host;
  const untracked = [setMark(MARK_HOST_ALLOWED, MARK_HOST_ALLOWED), notrack, verdict.accept];
  const preDnat = [setMark(MARK_HOST_ALLOWED, MARK_HOST_ALLOWED), verdict.accept];
  const forward = [verdict.return];
  return [
    {
      name: hostStageChain(id, "untracked", "ingress"),
      d: "ingress",
      tiers: s.untracked.ingress,
      allowed: untracked,
    },
    {
      name: hostStageChain(id, "untracked", "egress"),
      d: "egress",
      tiers: s.untracked.egress,
      allowed: untracked,
    },
    {
      name: hostStageChain(id, "prednat", "ingress"),
      d: "ingress",
      tiers: s.preDNAT,
      allowed: preDnat,
    },
    {
      name: hostStageChain(id, "forward", "ingress"),
      d: "ingress",
      tiers: s.forward.ingress,
      allowed: forward,
    },
    {
      name: hostStageChain(id, "forward", "egress"),
      d: "egress",
      tiers: s.forward.egress,
      allowed: forward,
    },
  ];
}

/**
 * The dispatch chains' rules: each host endpoint's interface to its stage chain, where that
 * stage has policy (a stage without any lets the packet through, as Calico's). Pre-DNAT and
 * forward skip packets an earlier stage allowed.
 */
export function hostDispatchRules(
  cfg: EnforcementConfig,
  hosts: readonly StagedHost[],
): Map<string, Stmt[][]> {
  const out = new Map<string, Stmt[][]>([
    [HEP_UNTRACKED_IN, stageFailsafe(cfg, hosts, "in")],
    [HEP_UNTRACKED_OUT, stageFailsafe(cfg, hosts, "out")],
    [HEP_PREDNAT, [[hostAllowed, counter(), verdict.return], ...stageFailsafe(cfg, hosts, "in")]],
    [HEP_FORWARD, []],
  ]);
  const named = [...new Set(hosts.flatMap((h) => h.stages.interfaces))]
    .filter((n) => n !== "*")
    .sort();
  for (const host of hosts) {
    const add = (
      chain: string,
      tiers: readonly DpTierRef[],
      side: "in" | "out",
      target: string,
    ) => {
      if (tiers.length === 0) return;
      for (const match of throughHost(cfg, host, named, side, chain === HEP_FORWARD))
        out.get(chain)!.push([...match, counter(), verdict.jump(target)]);
    };
    const [uIn, uOut, pre, fIn, fOut] = hostStageSpecs(host);
    add(HEP_UNTRACKED_IN, uIn!.tiers, "in", uIn!.name);
    add(HEP_UNTRACKED_OUT, uOut!.tiers, "out", uOut!.name);
    add(HEP_PREDNAT, pre!.tiers, "in", pre!.name);
    add(HEP_FORWARD, fIn!.tiers, "in", fIn!.name);
    add(HEP_FORWARD, fOut!.tiers, "out", fOut!.name);
  }
  // The skip only in front of a forward stage: without one it is a rule every forwarded
  // packet meets for nothing.
  const forward = out.get(HEP_FORWARD)!;
  if (forward.length > 0) forward.unshift([hostAllowed, counter(), verdict.return]);
  return out;
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
  const drop = (match: Stmt): Stmt[] => [
    match,
    counter(),
    log({ prefix: formatLogPrefix({ action: "B" }), group: cfg.nflogGroup }),
    verdict.drop,
  ];
  const ranges = FAMILIES.flatMap((f) => {
    const cidrs = cfg.workloadCidrs.filter((c) => c.includes(":") === (f === 6));
    return cidrs.length === 0 ? [] : [{ f, set: headerValue(mergedIntervals(cidrs)) }];
  });
  const closed = (sides: Array<"from" | "to">): Stmt[][] =>
    sides.flatMap((side) => [
      ...cfg.workloadInterfaces.map((p) =>
        drop(eq(side === "from" ? meta.iifname : meta.oifname, p)),
      ),
      ...ranges.map(({ f, set }) => drop(eq(addr(f)[side === "from" ? "saddr" : "daddr"], set))),
    ]);
  const chains: Array<[Hook, Stmt[][]]> = [
    ["forward", [...conntrack, ...closed(["from", "to"])]],
    [
      "input",
      [[eq(meta.iifname, "lo"), counter(), verdict.accept], ...conntrack, ...closed(["from"])],
    ],
    [
      "output",
      [[eq(meta.oifname, "lo"), counter(), verdict.accept], ...conntrack, ...closed(["to"])],
    ],
  ];
  for (const [name, rules] of chains) {
    tx.add(hook(name));
    for (const body of rules) tx.add({ kind: "rule", chain: name, body });
  }
  return tx;
}
