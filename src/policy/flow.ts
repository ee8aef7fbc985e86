// Builds flows from what users type: `namespace/name`, a global workload's name, or an address.
import { tryParseAddress } from "../net/cidr.ts";
import type { Cluster } from "./cluster.ts";
import type { FlowPeer, Protocol } from "./types.ts";

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

export class NamedPortNotFoundError extends Error {
  readonly code = "flow.named-port-not-found";
  readonly field = "--port";
  constructor(
    readonly ref: string,
    readonly peer: string,
  ) {
    super(`--port: "${ref}" is not a named port of ${peer} (its container ports' names)`);
  }
}

/**
 * A destination port by number, or by name as a rule's named port resolves: on the
 * destination workload's container ports of that name and protocol.
 */
export function resolvePort(
  destination: FlowPeer,
  port: number | string,
  protocol: Protocol,
): number {
  if (typeof port === "number") return port;
  const found = destination.endpoint?.ports.find((p) => p.name === port && p.protocol === protocol);
  if (!found) {
    throw new NamedPortNotFoundError(
      port,
      destination.endpoint?.id ?? destination.address?.text ?? "the destination",
    );
  }
  return found.port;
}
