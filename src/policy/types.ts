// The one tiered rule program every policy kind is normalized into, and the flows it judges.
import type { Address, Cidr } from "../net/cidr.ts";
import type { Labels, SelectorAst } from "../selector/index.ts";

export type Direction = "ingress" | "egress";
export const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];

export type RuleAction = "Allow" | "Deny" | "Pass" | "Log";
export type TierDefaultAction = "Deny" | "Pass";

/** Protocol names as Calico writes them; numbers for the rest. */
export type Protocol = "TCP" | "UDP" | "SCTP" | "ICMP" | "ICMPv6" | "UDPLite" | number;

export interface PortProtocol {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface NamedPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Something that holds addresses and carries labels: a pod, a workload, a host, a network set. */
export type EntityKind =
  | "Pod"
  | "WorkloadEndpoint"
  | "HostEndpoint"
  | "NetworkSet"
  | "GlobalNetworkSet";

export interface Endpoint {
  /** `namespace/name` for namespaced workloads, `name` for global ones. */
  readonly id: string;
  readonly kind: EntityKind;
  readonly name: string;
  readonly namespace?: string;
  /**
   * Own labels plus the synthetic ones selectors scope with: namespace, namespace labels under
   * `pcns.`, service account, orchestrator (see `effectiveLabels`).
   */
  readonly labels: Labels;
  readonly addresses: readonly Address[];
  /** Network sets hold CIDRs rather than single addresses. */
  readonly nets: readonly Cidr[];
  /** Named ports, what rules' named ports resolve on. */
  readonly ports: readonly NamedPort[];
  /** Every port the workload declares, named or not: the ports a matrix judges. */
  readonly containerPorts: readonly PortProtocol[];
  readonly node?: string;
  /** Host-network pods share the node's address; pod policy does not apply to them. */
  readonly hostNetwork: boolean;
  /**
   * The node side of a workload's interface, when its resource names it (WorkloadEndpoint); a
   * host endpoint's own interface (`*`: every interface of the node but workloads' and lo).
   */
  readonly interfaceName?: string;
  /** Sources beyond its own addresses a workload may send from (allowSpoofedSourcePrefixes). */
  readonly allowSpoofedSourcePrefixes?: readonly Cidr[];
}

export interface Node {
  readonly name: string;
  readonly labels: Labels;
  readonly addresses: readonly Address[];
}

/** A selector compiled once; `key` is its canonical text, shared by every rule that uses it. */
export interface CompiledSelector {
  readonly ast: SelectorAst;
  readonly key: string;
  readonly matches: (labels: Labels) => boolean;
}

export type PortMatch =
  | { readonly kind: "range"; readonly from: number; readonly to: number }
  | { readonly kind: "named"; readonly name: string };

export interface IcmpMatch {
  readonly type: number;
  readonly code?: number;
}

/** A Service's target port: a number, or the name of a container port of each selected pod. */
export interface TargetPort {
  readonly protocol: Protocol;
  readonly port: number | string;
}

/**
 * Calico rule `services`, resolved when the policy is compiled (the policy is compiled again when
 * the Service, or whether it has EndpointSlices, changes):
 * - `slices`: the addresses of its EndpointSlices (with each slice's ports, on a destination);
 * - `selector`: no slices yet (a repo before deploying): the pods its selector matches in its
 *   namespace, with its target ports on a destination;
 * - `none`: it exists but has no endpoints (no selector, ExternalName): matches nothing;
 * - `any`: no such Service, in a Deny rule: matches every peer, so the deny holds (an Allow,
 *   Pass or Log rule naming a missing Service is `none`: it never opens more than written).
 */
export interface ServiceMatch {
  /** `namespace/name`. */
  readonly key: string;
  readonly via: "slices" | "selector" | "none" | "any";
  readonly exists: boolean;
  /** On a destination: the peer's port must be one of the Service's endpoints' ports. */
  readonly withPorts: boolean;
  /** For `selector`: the Service's pods. */
  readonly selector?: CompiledSelector;
  readonly targetPorts?: readonly TargetPort[];
}

/** One EndpointSlice's endpoints: canonical address texts and its ports. */
export interface SliceEndpoints {
  /** `namespace/name` of the Service it belongs to. */
  readonly service: string;
  readonly addresses: readonly Address[];
  readonly ports: readonly PortProtocol[];
}

/** One side (source or destination) of a rule. Every present field must match. */
export interface EntityMatch {
  readonly service?: ServiceMatch;
  readonly selector?: CompiledSelector;
  readonly notSelector?: CompiledSelector;
  readonly nets?: readonly Cidr[];
  readonly notNets?: readonly Cidr[];
  readonly ports?: readonly PortMatch[];
  readonly notPorts?: readonly PortMatch[];
  /** AdminNetworkPolicy `nodes` peers: the address belongs to a node whose labels match. */
  readonly nodeSelector?: CompiledSelector;
  /**
   * Legacy AdminNetworkPolicy (v0.1.1) `sameLabels` / `notSameLabels`: the peer's namespace
   * must have the same (or not the same) values as the subject's namespace for these keys.
   * Relative to the subject, so judged at evaluation time.
   */
  readonly sameNamespaceLabels?: readonly string[];
  readonly notSameNamespaceLabels?: readonly string[];
}

export interface RuleOrigin {
  /** Which source object the rule came from, for explain and for log prefixes. */
  readonly policy: PolicyRef;
  readonly direction: Direction;
  /** Index in the source object's ingress/egress list. */
  readonly index: number;
  /** Rule name where the kind has one (AdminNetworkPolicy). */
  readonly name?: string;
}

/**
 * A rule over some kind of entity match: `EntityMatch` (by selector) here, by address set in
 * the engine's output. The packet-level fields are the same in both.
 */
export interface RuleOf<E> {
  readonly action: RuleAction;
  readonly protocol?: Protocol;
  readonly notProtocol?: Protocol;
  readonly ipVersion?: 4 | 6;
  readonly icmp?: IcmpMatch;
  readonly notIcmp?: IcmpMatch;
  readonly source: E;
  readonly destination: E;
  readonly origin: RuleOrigin;
}

export type Rule = RuleOf<EntityMatch>;

export type PolicyKind =
  | "NetworkPolicy"
  | "GlobalNetworkPolicy"
  | "StagedNetworkPolicy"
  | "StagedGlobalNetworkPolicy"
  | "StagedKubernetesNetworkPolicy"
  | "KubernetesNetworkPolicy"
  | "AdminNetworkPolicy"
  | "BaselineAdminNetworkPolicy"
  | "ClusterNetworkPolicy";

export interface PolicyRef {
  readonly kind: PolicyKind;
  readonly namespace?: string;
  /** The policy's identity: Calico kinds without their tier's `tier.` prefix (policyName). */
  readonly name: string;
  /** `metadata.name` as the manifest spells it, when it differs from `name` (output only). */
  readonly writtenName?: string;
}

/**
 * Host endpoint stages of a GlobalNetworkPolicy (Calico): `untracked` (doNotTrack) is judged
 * before conntrack and `preDNAT` before DNAT, on packets through a host endpoint's interface,
 * and neither ever applies to a workload. Unset: a normal policy.
 */
export type HostStage = "untracked" | "preDNAT";

export interface Policy {
  readonly ref: PolicyRef;
  readonly stage?: HostStage;
  /** A host endpoint's policy applies to traffic forwarded through its interface too. */
  readonly applyOnForward?: boolean;
  readonly tier: string;
  /** Sort key inside the tier; lower first, ties by name. Undefined sorts last. */
  readonly order?: number;
  readonly selector: CompiledSelector;
  readonly types: readonly Direction[];
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
}

export interface Tier {
  readonly name: string;
  readonly order?: number;
  readonly defaultAction: TierDefaultAction;
  /** Already sorted by (order, name). */
  readonly policies: readonly Policy[];
}

/** Tiers sorted by (order, name). */
export interface Program {
  readonly tiers: readonly Tier[];
}

/**
 * A flow peer: an address, the workload holding it, or both. A workload without an address
 * (a pod not yet scheduled, a Deployment's template) is judged by identity alone: CIDR matches
 * and network sets never include it, `notNets` always does.
 */
export type FlowPeer =
  | { readonly address: Address; readonly endpoint?: Endpoint }
  | { readonly address?: undefined; readonly endpoint: Endpoint };

export interface Flow {
  readonly source: FlowPeer;
  readonly destination: FlowPeer;
  readonly protocol: Protocol;
  readonly port?: number;
  readonly sourcePort?: number;
  readonly icmp?: IcmpMatch;
}
