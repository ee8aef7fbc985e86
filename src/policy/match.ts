// Does one rule match one flow, seen from the endpoint the policy is applied to.
import { type Address, anyContains, type Cidr } from "../net/cidr.ts";
import { type SliceContext, serviceMatches } from "./services.ts";
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
export interface PeerContext extends SliceContext {
  networkSetsContaining(address: Address): readonly Endpoint[];
  nodesWithAddress(address: Address): readonly Node[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Host endpoints of a node that name their interface: where forwarded traffic crosses. */
  hostEndpointsOn(node: string): readonly Endpoint[];
}

/**
 * A selector matches a peer when the workload holding the address matches, or when a network
 * set containing the address does: the same membership the kernel's address sets hold.
 */
export function peerSelected(sel: CompiledSelector, peer: FlowPeer, ctx: PeerContext): boolean {
  if (endpointSelected(sel, peer)) return true;
  if (!peer.address) return false;
  for (const set of ctx.networkSetsContaining(peer.address))
    if (sel.matches(set.labels)) return true;
  return false;
}

/** The workload itself matches, not a network set around its address. */
function endpointSelected(sel: CompiledSelector, peer: FlowPeer): boolean {
  const ep = peer.endpoint;
  return ep !== undefined && !ep.hostNetwork && sel.matches(ep.labels);
}

const inNets = (nets: readonly Cidr[], peer: FlowPeer): boolean =>
  peer.address !== undefined && anyContains(nets, peer.address);

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
  if (m.service && !serviceMatches(m.service, peer, port, protocol, ctx)) return false;
  if (m.selector && !peerSelected(m.selector, peer, ctx)) return false;
  if (m.notSelector && peerSelected(m.notSelector, peer, ctx)) return false;
  if (m.nets && !inNets(m.nets, peer)) return false;
  if (m.notNets && inNets(m.notNets, peer)) return false;
  // Felix builds a named port's members from the endpoints the rule's selector matches: a
  // workload reached only through a network set around its address lends no named port.
  const portOwner =
    m.selector === undefined || endpointSelected(m.selector, peer) ? peer.endpoint : undefined;
  if (m.ports && !anyPortMatches(m.ports, port, protocol, portOwner)) return false;
  if (m.notPorts && anyPortMatches(m.notPorts, port, protocol, portOwner)) return false;
  if (m.nodeSelector) {
    const sel = m.nodeSelector;
    if (!peer.address) return false;
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

/**
 * Undefined when neither peer has an address (templates, unscheduled pods): an ipVersion
 * restriction then matches, as the flow would in the family the rule names.
 */
function flowFamily(flow: Flow): 4 | 6 | undefined {
  return flow.source.address?.family ?? flow.destination.address?.family;
}

export function ruleMatches(rule: Rule, flow: Flow, subject: Endpoint, ctx: PeerContext): boolean {
  if (rule.protocol !== undefined && rule.protocol !== flow.protocol) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === flow.protocol) return false;
  if (rule.ipVersion !== undefined && (flowFamily(flow) ?? rule.ipVersion) !== rule.ipVersion) {
    return false;
  }
  if (rule.icmp && !icmpMatches(rule.icmp, flow)) return false;
  if (rule.notIcmp && icmpMatches(rule.notIcmp, flow)) return false;
  return (
    entityMatches(rule.source, flow.source, flow.sourcePort, flow.protocol, subject, ctx) &&
    entityMatches(rule.destination, flow.destination, flow.port, flow.protocol, subject, ctx)
  );
}
