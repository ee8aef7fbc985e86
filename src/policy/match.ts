// Does one rule match one flow, seen from the endpoint the policy is applied to.
import { type Address, anyContains } from "../net/cidr.ts";
import type {
  CompiledSelector,
  Endpoint,
  EntityMatch,
  Flow,
  FlowPeer,
  IcmpMatch,
  Node,
  PortMatch,
  Protocol,
  Rule,
} from "./types.ts";

/** What a rule needs to know about the world beyond the flow itself. */
export interface PeerContext {
  networkSetsContaining(address: Address): readonly Endpoint[];
  nodesWithAddress(address: Address): readonly Node[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

/**
 * A selector matches a peer when the workload holding the address matches, or when a network
 * set containing the address does: the same membership the kernel's address sets hold.
 */
export function peerSelected(sel: CompiledSelector, peer: FlowPeer, ctx: PeerContext): boolean {
  const ep = peer.endpoint;
  if (ep && !ep.hostNetwork && sel.matches(ep.labels)) return true;
  for (const set of ctx.networkSetsContaining(peer.address))
    if (sel.matches(set.labels)) return true;
  return false;
}

function portMatches(pm: PortMatch, port: number, protocol: Protocol, owner?: Endpoint): boolean {
  if (pm.kind === "range") return port >= pm.from && port <= pm.to;
  if (!owner) return false;
  for (const np of owner.ports) {
    if (np.name === pm.name && np.port === port && np.protocol === protocol) return true;
  }
  return false;
}

function anyPortMatches(
  pms: readonly PortMatch[],
  port: number | undefined,
  protocol: Protocol,
  owner?: Endpoint,
): boolean {
  if (port === undefined) return false;
  for (const pm of pms) if (portMatches(pm, port, protocol, owner)) return true;
  return false;
}

function namespaceLabelsAgree(
  keys: readonly string[],
  peer: FlowPeer,
  subject: Endpoint,
  ctx: PeerContext,
): boolean {
  const peerNs = peer.endpoint?.namespace;
  if (peerNs === undefined || subject.namespace === undefined) return false;
  const a = ctx.namespaceLabels(subject.namespace) ?? {};
  const b = ctx.namespaceLabels(peerNs) ?? {};
  return keys.every((k) => a[k] !== undefined && a[k] === b[k]);
}

function entityMatches(
  m: EntityMatch,
  peer: FlowPeer,
  port: number | undefined,
  protocol: Protocol,
  subject: Endpoint,
  ctx: PeerContext,
): boolean {
  if (m.selector && !peerSelected(m.selector, peer, ctx)) return false;
  if (m.notSelector && peerSelected(m.notSelector, peer, ctx)) return false;
  if (m.nets && !anyContains(m.nets, peer.address)) return false;
  if (m.notNets && anyContains(m.notNets, peer.address)) return false;
  if (m.ports && !anyPortMatches(m.ports, port, protocol, peer.endpoint)) return false;
  if (m.notPorts && anyPortMatches(m.notPorts, port, protocol, peer.endpoint)) return false;
  if (m.nodeSelector) {
    const sel = m.nodeSelector;
    if (!ctx.nodesWithAddress(peer.address).some((n) => sel.matches(n.labels))) return false;
  }
  if (m.sameNamespaceLabels && !namespaceLabelsAgree(m.sameNamespaceLabels, peer, subject, ctx)) {
    return false;
  }
  if (m.notSameNamespaceLabels) {
    if (peer.endpoint?.namespace === undefined) return false;
    if (namespaceLabelsAgree(m.notSameNamespaceLabels, peer, subject, ctx)) return false;
  }
  return true;
}

function icmpMatches(m: IcmpMatch, flow: Flow): boolean {
  if (!flow.icmp || flow.icmp.type !== m.type) return false;
  return m.code === undefined || flow.icmp.code === m.code;
}

export function ruleMatches(rule: Rule, flow: Flow, subject: Endpoint, ctx: PeerContext): boolean {
  if (rule.protocol !== undefined && rule.protocol !== flow.protocol) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === flow.protocol) return false;
  if (rule.ipVersion !== undefined && rule.ipVersion !== flow.source.address.family) return false;
  if (rule.icmp && !icmpMatches(rule.icmp, flow)) return false;
  if (rule.notIcmp && icmpMatches(rule.notIcmp, flow)) return false;
  return (
    entityMatches(rule.source, flow.source, flow.sourcePort, flow.protocol, subject, ctx) &&
    entityMatches(rule.destination, flow.destination, flow.port, flow.protocol, subject, ctx)
  );
}
