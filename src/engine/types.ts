// What the engine hands the dataplane: address sets, policies whose rules refer to those sets,
// and endpoints pointing at ordered tiers of policies. Everything is by address, never by
// label, so a dataplane needs no selector logic; and by id, so a pod moving only changes set
// members.
import type { Cidr } from "../net/cidr.ts";
import type { Direction, RuleOf, TargetPort, TierDefaultAction } from "../policy/index.ts";
import type { MemberKey, SetMember } from "./members.ts";

/** Canonical-text ids, shared by every policy that uses the same selector. */
export type SetId = string & { readonly __brand: "SetId" };
export type PolicyId = string & { readonly __brand: "PolicyId" };
export type EndpointId = string & { readonly __brand: "EndpointId" };

/**
 * `addresses`: workload addresses and network-set prefixes of a selector (address and prefix
 * members). `named-ports`: address-port members of workloads matching a selector that declare
 * the port name. `nodes`: addresses of nodes matching a node selector. A rule naming a Service
 * uses the same two shapes: `addresses` on a source, `named-ports` (address, protocol, port) on a
 * destination, drawn from its EndpointSlices (`service`) or from its pods (`targetPorts`).
 */
export type SetKind = "addresses" | "named-ports" | "nodes";

export interface SetSpec {
  readonly id: SetId;
  readonly kind: SetKind;
  /** Canonical selector text the members are drawn from. */
  readonly selector: string;
  /** The port name, for named-port sets. */
  readonly portName?: string;
  /** A Service's EndpointSlices give the members (`namespace/name`); `selector` is then empty. */
  readonly service?: string;
  /** A named-ports set of a Service's pods: its target ports instead of one port name. */
  readonly targetPorts?: readonly TargetPort[];
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** One side of a rule, by address. A port matches if it is in `ports` or any named-port set. */
export interface DpEntity {
  readonly set?: SetId;
  readonly notSet?: SetId;
  readonly nets?: readonly Cidr[];
  readonly notNets?: readonly Cidr[];
  readonly ports?: readonly PortRange[];
  readonly namedPortSets?: readonly SetId[];
  readonly notPorts?: readonly PortRange[];
  readonly notNamedPortSets?: readonly SetId[];
  readonly nodeSet?: SetId;
}

export type DpRule = RuleOf<DpEntity>;

export interface DpPolicy {
  readonly id: PolicyId;
  readonly tier: string;
  readonly ingress: readonly DpRule[];
  readonly egress: readonly DpRule[];
}

export interface DpTierRef {
  readonly name: string;
  readonly defaultAction: TierDefaultAction;
  readonly policies: readonly PolicyId[];
}

export interface DpEndpoint {
  readonly id: EndpointId;
  /** A workload sends from an interface of its own; a host endpoint is the node itself. */
  readonly kind: "workload" | "host";
  readonly addresses: readonly string[];
  /**
   * The node side of a workload's interface: every packet entering on it must carry one of the
   * workload's addresses (or an allowed source prefix). Unset, the workload cannot send.
   */
  readonly interfaceName?: string;
  /** Source prefixes the workload may send from besides its addresses, canonical CIDR text. */
  readonly allowedSourcePrefixes?: readonly string[];
  readonly ingress: readonly DpTierRef[];
  readonly egress: readonly DpTierRef[];
  /** A host endpoint with an interface: the stages judged on packets through it. */
  readonly hostStages?: DpHostStages;
}

/**
 * Calico's host endpoint stages, each an ordered tier list like an endpoint's own:
 * - `untracked` (doNotTrack policies): ingress on every packet entering through the interface,
 *   egress on the host's own packets leaving through it; before conntrack, tiers end in Pass;
 * - `preDNAT` (ingress only): new connections entering through it, before DNAT; tiers end in Pass;
 * - `forward` (applyOnForward normal policies): forwarded packets entering (ingress) or
 *   leaving (egress) through it; tiers end in their own default action.
 * `ingress`/`egress` of the endpoint hold its normal policies (for the host's own traffic).
 */
export interface DpHostStages {
  /**
   * The interfaces the stages judge packets through, sorted: the host endpoint's
   * `interfaceName` (`*`: every interface but workloads' and lo), or the node's interfaces
   * holding one of its expectedIPs. Empty: it names none and no interface holds one of them;
   * the stages then judge packets to (ingress) and from (egress) its addresses on any
   * interface, so they hold from the moment an address appears, before the rebinding.
   */
  readonly interfaces: readonly string[];
  readonly untracked: {
    readonly ingress: readonly DpTierRef[];
    readonly egress: readonly DpTierRef[];
  };
  readonly preDNAT: readonly DpTierRef[];
  readonly forward: {
    readonly ingress: readonly DpTierRef[];
    readonly egress: readonly DpTierRef[];
  };
}

export type Delta =
  | { readonly type: "set-added"; readonly set: SetSpec }
  | {
      readonly type: "set-members-added";
      readonly id: SetId;
      readonly members: readonly SetMember[];
    }
  | {
      readonly type: "set-members-removed";
      readonly id: SetId;
      readonly members: readonly SetMember[];
    }
  | { readonly type: "set-removed"; readonly id: SetId }
  | { readonly type: "policy-upserted"; readonly policy: DpPolicy }
  | { readonly type: "policy-removed"; readonly id: PolicyId }
  | { readonly type: "endpoint-upserted"; readonly endpoint: DpEndpoint }
  | { readonly type: "endpoint-removed"; readonly id: EndpointId };

/** The whole desired state; equal states compare equal with `stateKey`. */
export interface DataplaneState {
  readonly sets: ReadonlyMap<
    SetId,
    { readonly spec: SetSpec; readonly members: ReadonlyMap<MemberKey, SetMember> }
  >;
  readonly policies: ReadonlyMap<PolicyId, DpPolicy>;
  readonly endpoints: ReadonlyMap<EndpointId, DpEndpoint>;
}

export type { Direction };
