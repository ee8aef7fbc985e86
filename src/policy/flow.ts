// Builds flows from what users type: `namespace/name`, a global workload's name, or an address.
import { tryParseAddress } from "../net/cidr.ts";
import type { Cluster } from "./cluster.ts";
import type { FlowPeer } from "./types.ts";

export class PeerNotFoundError extends Error {
  readonly code = "flow.peer-not-found";
  constructor(
    readonly field: string,
    readonly ref: string,
  ) {
    super(`${field}: "${ref}" is neither a known workload (namespace/name) nor an IP address`);
  }
}

/**
 * Resolves a peer reference; the `family` picks which address of a dual-stack workload. A name
 * without a namespace is a global workload (a HostEndpoint) of that name, else, as kubectl
 * reads a bare name, the workload of that name in namespace `default`.
 */
export function resolvePeer(
  cluster: Cluster,
  ref: string,
  field: string,
  family?: 4 | 6,
): FlowPeer {
  const address = tryParseAddress(ref);
  if (address) return cluster.peerAt(address);
  const ep =
    cluster.endpoint(ref) ?? (ref.includes("/") ? undefined : cluster.endpoint(`default/${ref}`));
  if (!ep) throw new PeerNotFoundError(field, ref);
  return cluster.peerOf(ep, family);
}
