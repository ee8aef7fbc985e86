// Pieces shared by the compilers of every policy kind: port lists and CIDR peers.
import { parseCidr } from "../../net/cidr.ts";
import type { EntityMatch, PortMatch, Protocol } from "../types.ts";

export interface PortGroup {
  /** Undefined for named ports whose protocol comes from the destination's declaration. */
  readonly protocol?: Protocol;
  /** Undefined when the group allows every port of its protocol. */
  readonly ports?: PortMatch[];
}

/** Groups (protocol, port) pairs so each rule carries one protocol, as a Calico rule does. */
export function groupByProtocol(
  entries: ReadonlyArray<{ protocol?: Protocol; port?: PortMatch }>,
): PortGroup[] {
  const groups = new Map<Protocol | undefined, PortMatch[] | undefined>();
  for (const e of entries) {
    const list = groups.has(e.protocol) ? groups.get(e.protocol) : [];
    groups.set(e.protocol, list && e.port ? [...list, e.port] : undefined);
  }
  return [...groups].map(([protocol, ports]) => ({
    ...(protocol !== undefined ? { protocol } : {}),
    ...(ports ? { ports } : {}),
  }));
}

/** A Kubernetes/ANP port value: a number (with optional end) or a container port name. */
export function portMatch(port: number | string, endPort?: number | null): PortMatch {
  if (typeof port === "string") {
    if (/^\d+$/.test(port)) return portMatch(Number(port), endPort);
    return { kind: "named", name: port };
  }
  return { kind: "range", from: port, to: endPort ?? port };
}

/** Calico's port syntax: 80, "80", "8000:8100", or a named port. */
export function calicoPortMatch(port: number | string): PortMatch {
  if (typeof port === "number") return { kind: "range", from: port, to: port };
  const range = /^(\d+):(\d+)$/.exec(port);
  if (range) return { kind: "range", from: Number(range[1]), to: Number(range[2]) };
  return portMatch(port);
}

/** An ipBlock-style peer: inside `cidr` and outside every `except`. */
export function cidrMatch(cidrs: readonly string[], except: readonly string[] = []): EntityMatch {
  const nets = cidrs.map(parseCidr);
  return except.length > 0 ? { nets, notNets: except.map(parseCidr) } : { nets };
}

/** Rules for every (peer, port group) pair; an empty list stands for "any". */
export function crossPeersAndPorts<P>(
  peers: readonly P[],
  groups: readonly PortGroup[],
): Array<{ peer: P | undefined; group: PortGroup | undefined }> {
  const out: Array<{ peer: P | undefined; group: PortGroup | undefined }> = [];
  for (const peer of peers.length > 0 ? peers : [undefined]) {
    for (const group of groups.length > 0 ? groups : [undefined]) out.push({ peer, group });
  }
  return out;
}
