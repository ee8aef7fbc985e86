// Builds flows from what users type: `namespace/name`, a global workload's name, or an address.
import { CONTROLLER_KINDS, KINDS } from "../model/index.ts";
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

/** kubectl's words for a kind (plural, singular, short names) -> how workload ids spell it. */
const KIND_WORDS = new Map<string, string>(
  KINDS.filter((k) => k.kind === "Pod" || CONTROLLER_KINDS.has(k.kind)).flatMap((k) =>
    [k.plural, k.kind.toLowerCase(), ...k.shortNames].map(
      (w) => [w, k.kind === "Pod" ? "" : `${k.kind.toLowerCase()}/`] as const,
    ),
  ),
);

/**
 * A workload reference as kubectl would read it in `namespace`: `web-0` and `pod/web-0` are
 * `NS/web-0`; `deploy/web` and `deployment/web` the Deployment's template, `NS/deployment/web`;
 * `shop/deploy/web` is `shop/deployment/web`. Anything else (`shop/web-0`, an address) is
 * returned as it is.
 */
export function qualifyWorkloadRef(ref: string, namespace: string): string {
  if (tryParseAddress(ref)) return ref;
  const parts = ref.split("/");
  if (parts.length === 1) return `${namespace}/${ref}`;
  const kindAt = parts.length === 2 ? 0 : parts.length === 3 ? 1 : -1;
  const prefix = kindAt < 0 ? undefined : KIND_WORDS.get(parts[kindAt]!.toLowerCase());
  if (prefix === undefined) return ref;
  const ns = kindAt === 0 ? namespace : parts[0];
  return `${ns}/${prefix}${parts[kindAt + 1]}`;
}

/**
 * Resolves a peer reference; the `family` picks which address of a dual-stack workload. A
 * workload id (`shop/web-0`, `shop/deployment/web`) first; a name without a namespace is then a
 * global workload (a HostEndpoint) of that name, else, as kubectl reads a bare name or
 * `KIND/NAME`, the workload in namespace `default` (qualifyWorkloadRef).
 */
export function resolvePeer(
  cluster: Cluster,
  ref: string,
  field: string,
  family?: 4 | 6,
): FlowPeer {
  const address = tryParseAddress(ref);
  if (address) return cluster.peerAt(address);
  const ep = cluster.endpoint(ref) ?? cluster.endpoint(qualifyWorkloadRef(ref, "default"));
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
    readonly field: "--port" | "--icmp-type" | "--icmp-code" | "--protocol",
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const isIcmp = (protocol: Protocol) => protocol === "ICMP" || protocol === "ICMPv6";

/** The address family an ICMP protocol belongs to: ICMP is IPv4's, ICMPv6 IPv6's. */
export function icmpFamily(protocol: Protocol): 4 | 6 | undefined {
  return protocol === "ICMP" ? 4 : protocol === "ICMPv6" ? 6 : undefined;
}

/**
 * Refuses an ICMP flow between peers of the other family (ICMPv6 between IPv4 addresses):
 * no such packet exists, and judging one would answer a question nobody can ask the kernel.
 * Peers without an address (judged by identity) fit either.
 */
export function checkIcmpFamily(protocol: Protocol, source: FlowPeer, destination: FlowPeer): void {
  const family = icmpFamily(protocol);
  if (family === undefined) return;
  const other = [source, destination].find((p) => p.address && p.address.family !== family);
  if (!other?.address) return;
  const peer = other.endpoint ? `${other.endpoint.id} (${other.address.text})` : other.address.text;
  throw new FlowShapeError(
    "--protocol",
    `${protocol} is IPv${family}'s, and ${peer} has no IPv${family} address (use --protocol ${family === 4 ? "ICMPv6" : "ICMP"})`,
  );
}

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
