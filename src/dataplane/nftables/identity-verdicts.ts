// What an endpoint's tiers decide for packets between one of its addresses and a peer identity,
// per protocol and destination port interval: the lookups of the verdict-map fast path.
//
// The walk is the endpoint chain's (tiers in order, policies by order, first matching rule
// decides, Pass skips to the next tier, a tier's default at its end), but it only gives an
// answer where it is certain for every packet of the key (peer identity, local address,
// protocol, destination port in the interval): a rule whose match depends on what the key does
// not fix (a peer's CIDR, a source port) or a Log rule on the way ends the walk with no answer,
// and so does a tier's default Deny (the chains log it with the tier's name). No answer means
// no element: the packet takes the chains, as without the fast path. An answer names the
// policy whose rule decided, and the element jumps to that policy's chain: its earlier rules
// cannot match the key, so the chain's first match is the deciding rule, which logs, counts and
// decides exactly as on the slow path.

import type { DpEndpoint, DpEntity, DpRule, PolicyId, SetId } from "../../engine/index.ts";
import { type Address, anyContains } from "../../net/cidr.ts";
import { protocolNumber } from "../../nft/index.ts";
import type { Direction, Protocol } from "../../policy/index.ts";
import { getOrCreate } from "../../util/maps.ts";
import { type Identity, namedPortToken } from "./identities.ts";
import { tiersOf } from "./names.ts";

/** The protocols with ports the fast path answers for; other packets take the chains. */
export const FAST_PROTOCOLS = [
  { name: "tcp", policy: "TCP", number: 6 },
  { name: "udp", policy: "UDP", number: 17 },
  { name: "sctp", policy: "SCTP", number: 132 },
] as const;

type FastProtocol = (typeof FAST_PROTOCOLS)[number];

/** What the renderer knows about the local side and the policies. */
export interface VerdictView {
  /** Whether a local address is in an address or node set (hosts or prefixes). */
  inSet(set: SetId, address: Address): boolean;
  /** Whether a local address declares the port in a named-port set. */
  inNamedPorts(set: SetId, address: Address, protocol: FastProtocol, port: number): boolean;
  /** The ports of a local address's named-port elements. */
  namedPortsOf(address: Address): Iterable<number>;
  rules(policy: PolicyId, d: Direction): readonly DpRule[];
}

/** A lookup answer: the deciding policy, or allowed by every tier (none decided). */
export type Decision = { readonly policy: PolicyId } | "allowed";

/**
 * The ports an element covers: one port, a range of more than one, or `rest`, every port of
 * the protocol that no port or range element of the same address and protocol covers.
 */
export type VerdictPorts = { readonly from: number; readonly to: number } | "rest";

/** A local address's decision for packets of one protocol to some of its ports. */
export interface PortVerdict {
  readonly protocol: FastProtocol;
  readonly ports: VerdictPorts;
  readonly decision: Decision;
}

type Tri = "yes" | "no" | "unknown";

const protoNumber = (p: Protocol) => protocolNumber(typeof p === "number" ? p : p.toLowerCase());

interface Key {
  readonly d: Direction;
  readonly local: Address;
  readonly peer: Identity;
  readonly protocol: FastProtocol;
  readonly port: number;
}

function both(a: Tri, b: Tri): Tri {
  if (a === "no" || b === "no") return "no";
  return a === "unknown" || b === "unknown" ? "unknown" : "yes";
}

const not = (t: Tri): Tri => (t === "yes" ? "no" : t === "no" ? "yes" : "unknown");

function inRanges(e: readonly { from: number; to: number }[], port: number): boolean {
  return e.some((r) => port >= r.from && port <= r.to);
}

/** The local endpoint's side of the rule: its address is the key's. */
function localSide(e: DpEntity, key: Key, view: VerdictView, portKnown: boolean): Tri {
  const a = key.local;
  if (e.set && !view.inSet(e.set, a)) return "no";
  if (e.notSet && view.inSet(e.notSet, a)) return "no";
  if (e.nets && !anyContains(e.nets, a)) return "no";
  if (e.notNets && anyContains(e.notNets, a)) return "no";
  if (e.nodeSet && !view.inSet(e.nodeSet, a)) return "no";
  const ports = (ranges: DpEntity["ports"], named: readonly SetId[] | undefined): Tri => {
    if (!portKnown) return "unknown";
    if (inRanges(ranges ?? [], key.port)) return "yes";
    const hit = (named ?? []).some((s) => view.inNamedPorts(s, a, key.protocol, key.port));
    return hit ? "yes" : "no";
  };
  let out: Tri = "yes";
  if (e.ports) out = both(out, ports(e.ports, e.namedPortSets));
  if (e.notPorts) out = both(out, not(ports(e.notPorts, e.notNamedPortSets)));
  return out;
}

/** The peer's side: only its identity is known, so its sets decide and its CIDRs cannot. */
function peerSide(e: DpEntity, key: Key, portKnown: boolean): Tri {
  const p = key.peer;
  if (e.set && !p.sets.has(e.set)) return "no";
  if (e.notSet && p.sets.has(e.notSet)) return "no";
  if (e.nodeSet && !p.sets.has(e.nodeSet)) return "no";
  let out: Tri = e.nets || e.notNets ? "unknown" : "yes";
  const ports = (ranges: DpEntity["ports"], named: readonly SetId[] | undefined): Tri => {
    if (!portKnown) return "unknown";
    if (inRanges(ranges ?? [], key.port)) return "yes";
    const token = (s: SetId) => namedPortToken(s, key.protocol.number, key.port);
    return (named ?? []).some((s) => p.namedPorts.has(token(s))) ? "yes" : "no";
  };
  if (e.ports) out = both(out, ports(e.ports, e.namedPortSets));
  if (e.notPorts) out = both(out, not(ports(e.notPorts, e.notNamedPortSets)));
  return out;
}

function ruleMatch(r: DpRule, key: Key, view: VerdictView): Tri {
  if (r.protocol !== undefined && protoNumber(r.protocol) !== key.protocol.number) return "no";
  if (r.notProtocol !== undefined && protoNumber(r.notProtocol) === key.protocol.number)
    return "no";
  if (r.ipVersion !== undefined && r.ipVersion !== key.local.family) return "no";
  // An ICMP type never matches a packet with ports; "not this type" always does.
  if (r.icmp) return "no";
  // The destination port is the key's; the source port is not.
  if (key.d === "ingress") {
    const peer = peerSide(r.source, key, false);
    return peer === "no" ? "no" : both(peer, localSide(r.destination, key, view, true));
  }
  const local = localSide(r.source, key, view, false);
  return local === "no" ? "no" : both(local, peerSide(r.destination, key, true));
}

/** The endpoint chain's walk for one key; undefined when the fast path cannot answer. */
function decide(endpoint: DpEndpoint, key: Key, view: VerdictView): Decision | undefined {
  const tiers = tiersOf(endpoint, key.d);
  for (const tier of tiers) {
    let passed = false;
    policies: for (const id of tier.policies) {
      for (const rule of view.rules(id, key.d)) {
        const m = ruleMatch(rule, key, view);
        if (m === "no") continue;
        if (m === "unknown" || rule.action === "Log") return undefined;
        if (rule.action === "Pass") {
          passed = true;
          break policies;
        }
        return { policy: id };
      }
    }
    if (!passed && tier.defaultAction === "Deny") return undefined;
  }
  return "allowed";
}

const PORT_END = 65536;

const sameDecision = (a: Decision | undefined, b: Decision | undefined) =>
  a === b || (typeof a === "object" && typeof b === "object" && a.policy === b.policy);

/**
 * The fast-path elements for one peer identity and one local address of an endpoint (owned by
 * this endpoint alone) in one direction. Per protocol the ports fall into intervals of one
 * decision each (adjacent ones merged). When every interval has a decision, the decision
 * covering the most ports becomes the `rest` element and only the other intervals get
 * elements; when some interval has none (the chains must judge it), there is no `rest` element
 * and every decided interval gets one. Most keys are then a few single ports and a rest, which
 * hash maps hold: an interval map's element change costs libnftables and the kernel time that
 * grows with the map (issue 13).
 */
export function addressVerdicts(
  endpoint: DpEndpoint,
  d: Direction,
  local: Address,
  peer: Identity,
  view: VerdictView,
): PortVerdict[] {
  const tiers = tiersOf(endpoint, d);
  if (tiers.length === 0) return [];
  const rulePorts: number[] = [];
  for (const tier of tiers) {
    for (const id of tier.policies) {
      for (const r of view.rules(id, d)) {
        for (const range of [...(r.destination.ports ?? []), ...(r.destination.notPorts ?? [])])
          rulePorts.push(range.from, range.to + 1);
      }
    }
  }
  const out: PortVerdict[] = [];
  const named = d === "ingress" ? [...view.namedPortsOf(local)] : [...peer.ports];
  const starts = intervalStarts(rulePorts, named);
  for (const protocol of FAST_PROTOCOLS) {
    const runs: Run[] = [];
    starts.forEach((from, i) => {
      const to = (starts[i + 1] ?? PORT_END) - 1;
      const decision = decide(endpoint, { d, local, peer, protocol, port: from }, view);
      const last = runs.at(-1);
      if (last && sameDecision(last.decision, decision)) last.to = to;
      else runs.push({ from, to, decision });
    });
    const rest = widest(runs);
    if (rest) out.push({ protocol, ports: "rest", decision: rest });
    for (const { from, to, decision } of runs) {
      if (decision && !sameDecision(decision, rest))
        out.push({ protocol, ports: { from, to }, decision });
    }
  }
  return out;
}

/**
 * Whether a rule of the endpoint's tiers matches the local side by CIDR: then its verdicts
 * depend on the local address itself, not only on the sets and named ports holding it.
 */
export function matchesLocalNets(endpoint: DpEndpoint, d: Direction, view: VerdictView): boolean {
  const tiers = tiersOf(endpoint, d);
  return tiers.some((tier) =>
    tier.policies.some((id) =>
      view.rules(id, d).some((r) => {
        const local = d === "ingress" ? r.destination : r.source;
        return local.nets !== undefined || local.notNets !== undefined;
      }),
    ),
  );
}

interface Run {
  from: number;
  to: number;
  decision: Decision | undefined;
}

const decisionKey = (d: Decision) => (d === "allowed" ? "" : d.policy);

/** The decision covering the most ports (the first on a tie); none if some run has none. */
function widest(runs: readonly Run[]): Decision | undefined {
  const cover = new Map<string, { decision: Decision; ports: number }>();
  for (const run of runs) {
    if (!run.decision) return undefined;
    const entry = getOrCreate(cover, decisionKey(run.decision), () => ({
      decision: run.decision!,
      ports: 0,
    }));
    entry.ports += run.to - run.from + 1;
  }
  let best: { decision: Decision; ports: number } | undefined;
  for (const entry of cover.values()) if (!best || entry.ports > best.ports) best = entry;
  return best?.decision;
}

/** Interval starts over 0-65535 such that no rule's port condition changes inside one. */
function intervalStarts(rangeBounds: readonly number[], named: readonly number[]): number[] {
  const breaks = new Set<number>([0]);
  for (const b of rangeBounds) if (b < PORT_END) breaks.add(b);
  for (const p of named) {
    breaks.add(p);
    if (p + 1 < PORT_END) breaks.add(p + 1);
  }
  return [...breaks].sort((a, b) => a - b);
}
