// Builds flows from what users type: `namespace/name`, a global workload's name, or an address.
import { tryParseAddress } from "../net/cidr.ts";
import type { Cluster } from "./cluster.ts";
import type { FlowPeer, IcmpMatch, Protocol } from "./types.ts";

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

/** A flow's port or ICMP fields that do not fit its protocol; `field` is the CLI flag. */
export class FlowShapeError extends Error {
  readonly code = "flow.shape";
  constructor(
    readonly field: "--port" | "--icmp-type" | "--icmp-code",
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const isIcmp = (protocol: Protocol) => protocol === "ICMP" || protocol === "ICMPv6";

/**
 * The port and ICMP fields as a rule reads them: ICMP and ICMPv6 carry a type and code and no
 * port (a Calico rule's `icmp: {type, code}`), every other protocol a port and no type. A code
 * needs a type, as in Calico's rules. No type: an ICMP packet that no `icmp` match selects.
 */
export function flowIcmp(
  protocol: Protocol,
  port: number | string | undefined,
  type: number | undefined,
  code: number | undefined,
): IcmpMatch | undefined {
  if (!isIcmp(protocol)) {
    if (type !== undefined || code !== undefined)
      throw new FlowShapeError(
        type !== undefined ? "--icmp-type" : "--icmp-code",
        `${protocol} has no ICMP type or code (use --protocol ICMP or ICMPv6)`,
      );
    if (port === undefined) throw new FlowShapeError("--port", `required for ${protocol}`);
    return undefined;
  }
  if (port !== undefined)
    throw new FlowShapeError("--port", `${protocol} has no ports (give --icmp-type)`);
  for (const [field, v] of [
    ["--icmp-type", type],
    ["--icmp-code", code],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 255))
      throw new FlowShapeError(field, `"${v}" is not 0-255`);
  }
  if (type === undefined) {
    if (code !== undefined) throw new FlowShapeError("--icmp-code", "needs --icmp-type");
    return undefined;
  }
  return code === undefined ? { type } : { type, code };
}
