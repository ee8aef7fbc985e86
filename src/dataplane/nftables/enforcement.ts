// What a node's enforcement needs to know beyond the engine's state: its table, which
// interfaces carry workloads, where Log and Deny packets go, and the ports that stay open
// whatever the policy says (so a bad policy cannot cut the node off its operators and datastore).

import { DEFAULT_POD_INTERFACE_PREFIX } from "../../engine/workload-interface.ts";

export interface FailsafePort {
  readonly protocol: "tcp" | "udp";
  readonly from: number;
  readonly to: number;
}

/** What a workload's packets to the node itself meet after its egress policy allowed them. */
export type EndpointToHostAction = "Drop" | "Accept" | "Return";

export interface EnforcementConfig {
  readonly table: string;
  /**
   * Interface names (nft wildcards, `veth*`) that lead to local workloads. Traffic on them whose
   * workload address is no local endpoint's is dropped; at start-up all of it is.
   */
  readonly workloadInterfaces: readonly string[];
  /** Workload address ranges, dropped at start-up (before the first full sync) too. */
  readonly workloadCidrs: readonly string[];
  readonly nflogGroup: number;
  /**
   * When set, Allow rules also log to this NFLOG group (prefix action A), so flow logs see
   * allowed connections and the allowing policy. Policy chains only see packets that are not
   * part of an established connection, so this logs the packets that open connections.
   */
  readonly nflogAllowGroup?: number;
  /**
   * Log allowed connections 1 in N (at random, per connection) rather than all: each Allow
   * rule is preceded by a rule with the same match under `numgen random mod N == 0` that only
   * logs. Denies and Log rules are never sampled. Unset or 1: every allowed connection.
   */
  readonly nflogAllowSample?: number;
  /**
   * Destination ports accepted into the node (input hook) before host endpoint policy, for
   * traffic that does not come from a workload interface.
   */
  readonly failsafeInbound: readonly FailsafePort[];
  /**
   * Destination ports accepted out of the node (output hook) before host endpoint policy, for
   * traffic that does not go to a workload interface (a workload's ingress always applies).
   */
  readonly failsafeOutbound: readonly FailsafePort[];
  /**
   * Calico's defaultEndpointToHostAction: after a workload's egress policy allowed a packet to
   * the node itself, Drop it (default), Accept it, or Return it to the host endpoints' policy.
   */
  readonly endpointToHostAction: EndpointToHostAction;
  /**
   * Felix's WorkloadSourceSpoofing "Any": workloads may send from their allowed source
   * prefixes (WorkloadEndpoint allowSpoofedSourcePrefixes). Off, only from their addresses.
   */
  readonly workloadSourceSpoofing: boolean;
  /** Prefix of the interface names the CNI plugin derives for pods (Calico's `cali`). */
  readonly podInterfacePrefix: string;
  /**
   * The verdict-map fast path (identity-verdicts.ts): endpoint chains first look the peer's
   * identity, protocol and port up, and walk their tiers only when that has no answer. Off,
   * every new connection walks the chains (same verdicts, cost growing with policies).
   */
  readonly verdictMaps: boolean;
  /**
   * Revocation: after each update is live, tracked TCP, UDP and SCTP connections of local
   * workloads that the new policy denies are deleted from conntrack, so established sessions
   * end with the policy that no longer allows them. Off (default), a policy change only
   * judges new connections, as Calico and Kubernetes do. Costs one conntrack listing per update.
   */
  readonly revokeDenied: boolean;
}

/** An nft interface wildcard (`veth*`) or exact name matches this name. */
export function interfaceMatches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/** Whether an interface name matches one of the workload interface patterns. */
export const isWorkloadInterface = (cfg: EnforcementConfig, name: string): boolean =>
  cfg.workloadInterfaces.some((p) => interfaceMatches(p, name));

/** Packet mark bits that carry a policy's Allow and Pass back to the endpoint chain. */
export const MARK_ALLOW = 0x10000;
export const MARK_PASS = 0x20000;
export const MARK_BITS = MARK_ALLOW | MARK_PASS;
/** Set by an egress endpoint chain for the fast path's identity chains (which direction). */
export const MARK_EGRESS = 0x40000;
/**
 * Set when a host endpoint's untracked or pre-DNAT stage allowed the packet: later host endpoint
 * policy (pre-DNAT, normal, forward) is skipped, as in Calico; workload policy never is.
 */
export const MARK_HOST_ALLOWED = 0x80000;

export const DEFAULT_ENFORCEMENT: EnforcementConfig = {
  table: "microseg",
  workloadInterfaces: [],
  workloadCidrs: [],
  nflogGroup: 1,
  // ssh and etcd in; etcd and DNS out.
  failsafeInbound: parseFailsafe("tcp:22,tcp:2379-2380"),
  failsafeOutbound: parseFailsafe("tcp:2379-2380,udp:53"),
  endpointToHostAction: "Drop",
  workloadSourceSpoofing: false,
  podInterfacePrefix: DEFAULT_POD_INTERFACE_PREFIX,
  verdictMaps: true,
  revokeDenied: false,
};

const ENDPOINT_TO_HOST_ACTIONS: readonly EndpointToHostAction[] = ["Drop", "Accept", "Return"];

export function parseEndpointToHostAction(text: string): EndpointToHostAction {
  const action = ENDPOINT_TO_HOST_ACTIONS.find((a) => a.toLowerCase() === text.toLowerCase());
  if (!action) {
    throw new Error(
      `endpoint-to-host action ${JSON.stringify(text)} is not Drop, Accept or Return`,
    );
  }
  return action;
}

/** `tcp:22,tcp:2379-2380,udp:53` -> ports; the empty string is none. */
export function parseFailsafe(text: string): FailsafePort[] {
  if (text.trim() === "") return [];
  return text.split(",").map((item) => {
    const m = /^(tcp|udp):(\d{1,5})(?:-(\d{1,5}))?$/.exec(item.trim());
    const from = Number(m?.[2]);
    const to = m?.[3] === undefined ? from : Number(m[3]);
    if (!m || from < 1 || to > 65535 || to < from) {
      throw new Error(`failsafe port ${JSON.stringify(item)} is not tcp|udp:PORT[-PORT]`);
    }
    return { protocol: m[1] as "tcp" | "udp", from, to };
  });
}
