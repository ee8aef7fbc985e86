// Whether a tracked connection would be let through as new by the policy now live: the judge
// of revocation. It follows the kernel's path for a connection's first packet (render-base.ts):
// host endpoint stages where the packet crosses a host endpoint, a host endpoint's normal policy
// for the node's own traffic, workload policy where a local workload is an end; between a local
// workload and the node itself, the chains for them (`workload-to-host`, `host-to-workload`).
//
// A conntrack entry does not say which interface the connection crossed, so every host
// endpoint whose stages could have judged it is asked (each named or bound one, `*`, and one
// bound to its addresses when the address is an end), and the connection is denied when any of
// them denies. With one staged host endpoint (the usual `*` or one uplink) that is the kernel's
// verdict; with several it may cut a connection the interface's own host endpoint allows (its
// next packet then meets the rules as new and passes, as conntrack picks up TCP mid-stream).

import type { DpEndpoint } from "../../engine/index.ts";
import { parseAddress } from "../../net/cidr.ts";
import type { Direction, Protocol } from "../../policy/index.ts";
import type { EndpointToHostAction } from "../nftables/index.ts";
import type { MemoryDataplane, Packet } from "./memory-dataplane.ts";

/** A connection as conntrack lists it: original direction, and where its replies come from. */
export interface TrackedFlow extends Packet {
  /** The reply tuple's source: the destination after DNAT (the original one without DNAT). */
  readonly replySource?: string;
}

/** What the judge needs of the node beyond the dataplane. */
export interface NodeFacts {
  /** Failsafe ports (inbound: to the node's host endpoints; outbound: the node's own). */
  readonly failsafe: (side: "in" | "out", protocol: Protocol, port: number) => boolean;
  /** An address of the node itself (its interfaces', loopback included), canonical text. */
  readonly nodeAddress: (address: string) => boolean;
  /** What a local workload's packet to the node meets after its egress policy allowed it. */
  readonly endpointToHost: EndpointToHostAction;
}

type Stage = "untracked" | "preDNAT" | "forward";

export function trackedAllowed(
  judge: MemoryDataplane,
  flow: TrackedFlow,
  node: NodeFacts,
): boolean {
  const { failsafe } = node;
  const post = flow.replySource ?? flow.destination;
  const from = judge.endpointAt(flow.source);
  const to = judge.endpointAt(post);
  const port = flow.port ?? 0;
  const fromOutside = from === undefined;
  const toOutside = to === undefined;
  const hosts = judge.stagedHosts();

  /** The stage's verdict over every host endpoint it could be: any Deny denies. */
  const stage = (s: Stage, d: Direction, packet: Packet): boolean | undefined => {
    let allowed: boolean | undefined;
    for (const h of hosts) {
      if (!crosses(h, s, d, packet)) continue;
      const st = h.hostStages!;
      const tiers =
        s === "untracked" ? st.untracked[d] : s === "preDNAT" ? st.preDNAT : st.forward[d];
      const v = judge.decide(tiers, d, packet);
      if (v === false) return false;
      if (v === true) allowed = true;
    }
    return allowed;
  };
  // Untracked and pre-DNAT policy see the original destination, the rest the translated one.
  const original: Packet = flow;
  const translated: Packet = { ...flow, destination: post };

  // A local workload to the node itself (input, `workload-to-host`): its egress policy, then
  // the endpoint-to-host action (Return: on to the ingress policy of the host endpoint holding
  // the address). No stage and no failsafe port is met on the way.
  const toNode = to?.kind === "host" || (toOutside && node.nodeAddress(post));
  if (from?.kind === "workload" && toNode) {
    if (judge.decide(from.egress, "egress", translated) === false) return false;
    if (node.endpointToHost !== "Return") return node.endpointToHost === "Accept";
    return to?.kind === "host" ? (judge.decide(to.ingress, "ingress", translated) ?? true) : true;
  }
  // The node to a local workload (output, `host-to-workload`): the egress policy of the host
  // endpoint holding the source, if any, then the workload's ingress; no failsafe port.
  const fromNode = from?.kind === "host" || (fromOutside && node.nodeAddress(flow.source));
  if (to?.kind === "workload" && fromNode) {
    if (from?.kind === "host" && judge.decide(from.egress, "egress", original) === false)
      return false;
    return judge.decide(to.ingress, "ingress", translated) ?? true;
  }

  // The node's own traffic: failsafe ports are never cut, then stages, then the host endpoint's
  // normal policy.
  if (to?.kind === "host") {
    if (flow.port !== undefined && failsafe("in", flow.protocol, port)) return true;
    if (fromOutside) {
      const marked =
        stage("untracked", "ingress", original) ?? stage("preDNAT", "ingress", original);
      if (marked !== undefined) return marked;
    }
    return judge.decide(to.ingress, "ingress", translated) ?? true;
  }
  if (from?.kind === "host") {
    if (flow.port !== undefined && failsafe("out", flow.protocol, port)) return true;
    const marked = stage("untracked", "egress", original);
    if (marked !== undefined) return marked;
    return judge.decide(from.egress, "egress", original) ?? true;
  }

  // The node's own traffic from or to an address no host endpoint holds (loopback, say): no
  // host endpoint's policy is for it, and a stage's guess could cut it; left to the chains.
  if (fromOutside && toOutside && [flow.source, post].some((a) => node.nodeAddress(a))) return true;
  // Forwarded: the stages of the host endpoints it enters and leaves by, then workload policy.
  let marked: boolean | undefined;
  if (fromOutside) {
    marked = stage("untracked", "ingress", original) ?? stage("preDNAT", "ingress", original);
    if (marked === false) return false;
    if (marked === undefined && stage("forward", "ingress", translated) === false) return false;
  }
  if (toOutside && marked === undefined && stage("forward", "egress", translated) === false)
    return false;
  if (fromOutside && toOutside) return true;
  return judge.verdict(translated).allowed;
}

/**
 * Whether a host endpoint's stage could judge this packet: bound to interfaces, every packet
 * through a non-workload interface may be one of theirs; bound to its addresses (none held
 * yet), only untracked and pre-DNAT packets to (in) or from (out) them.
 */
function crosses(h: DpEndpoint, s: Stage, d: Direction, packet: Packet): boolean {
  if (h.hostStages!.interfaces.length > 0) return true;
  if (s === "forward") return false;
  const end = parseAddress(d === "ingress" ? packet.destination : packet.source).text;
  return h.addresses.includes(end);
}
