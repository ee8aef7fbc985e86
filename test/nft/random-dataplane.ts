// Random dataplane states that use every field of the engine's output (v4 and v6, CIDR members
// nested in one another, named ports, node sets, notPorts, notSet, icmp and notIcmp, protocol
// names and numbers, ipVersion, tiers with Pass and default actions), and random packets to
// judge them with. The engine never produces some of these combinations; the renderer must
// still get them right.

import type { Packet } from "../../src/dataplane/memory/memory-dataplane.ts";
import type { MemberKey, SetMember } from "../../src/engine/index.ts";
import type {
  DataplaneState,
  Delta,
  DpEndpoint,
  DpEntity,
  DpPolicy,
  DpRule,
  EndpointId,
  PolicyId,
  SetId,
  SetSpec,
} from "../../src/engine/types.ts";
import { parseCidr } from "../../src/net/cidr.ts";
import type { Protocol } from "../../src/policy/types.ts";
import type { Random } from "../engine/random-cluster.ts";
import { memberMap } from "../members.ts";
import type { SimPacket } from "./packet-sim.ts";

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Random, p: number) => r() < p;
const some = <T>(r: Random, xs: readonly T[], p: number): T[] => xs.filter(() => chance(r, p));

export const V4 = Array.from({ length: 10 }, (_, i) => `198.18.0.${i + 1}`);
export const V6 = Array.from({ length: 5 }, (_, i) => `fd00::${i + 1}`);
export const EXTERNAL = ["203.0.113.7", "198.19.0.1", "fd00::99", "fd00:1::5"];
const CIDRS = ["198.18.0.0/30", "198.18.0.0/29", "198.18.0.8/30", "fd00::/126", "203.0.113.0/24"];
const PROTOCOLS: Protocol[] = ["TCP", "UDP", "SCTP", "ICMP", "ICMPv6", "UDPLite", 200];
const PORTS = [22, 53, 80, 8080, 9000];

function setIds(prefix: string, n: number): SetId[] {
  return Array.from({ length: n }, (_, i) => `${prefix}:${i}` as SetId);
}

const addressSets = setIds("sel", 5);
const namedSets = setIds("np", 3);
const nodeSets = setIds("node", 1);

function members(r: Random, kind: SetSpec["kind"]): string[] {
  if (kind === "named-ports") {
    return some(r, [...V4, ...V6], 0.3).map(
      (a) => `${a},${pick(r, ["TCP", "UDP", "SCTP"])},${pick(r, PORTS)}`,
    );
  }
  if (kind === "nodes") return some(r, ["198.19.0.1", "198.19.0.2"], 0.5);
  return [...some(r, [...V4, ...V6], 0.3), ...some(r, CIDRS, 0.15)];
}

function entity(r: Random, protocol: Protocol | undefined): DpEntity {
  const ranges = () =>
    Array.from({ length: 1 + Math.floor(r() * 2) }, () => {
      const from = pick(r, PORTS);
      return chance(r, 0.3) ? { from, to: from + 100 } : { from, to: from };
    });
  const e: Record<string, unknown> = {};
  if (chance(r, 0.4)) e.set = pick(r, addressSets);
  if (chance(r, 0.15)) e.notSet = pick(r, addressSets);
  if (chance(r, 0.15)) e.nets = some(r, CIDRS, 0.5).map((c) => parseCidr(c));
  if (chance(r, 0.1)) e.notNets = some(r, CIDRS, 0.4).map((c) => parseCidr(c));
  if (chance(r, 0.05)) e.nodeSet = pick(r, nodeSets);
  const portful =
    protocol === undefined || ["TCP", "UDP", "SCTP", "UDPLite"].includes(String(protocol));
  if (portful && chance(r, 0.4)) {
    e.ports = chance(r, 0.8) ? ranges() : [];
    e.namedPortSets = some(r, namedSets, 0.3);
  }
  if (portful && chance(r, 0.15)) {
    e.notPorts = chance(r, 0.8) ? ranges() : [];
    e.notNamedPortSets = some(r, namedSets, 0.3);
  }
  return e as DpEntity;
}

function rule(r: Random, policy: PolicyId, direction: "ingress" | "egress", index: number): DpRule {
  const protocol = chance(r, 0.6) ? pick(r, PROTOCOLS) : undefined;
  const icmpish = protocol === undefined || protocol === "ICMP" || protocol === "ICMPv6";
  const icmp = () => ({
    type: pick(r, [0, 3, 8, 128]),
    ...(chance(r, 0.5) ? { code: pick(r, [0, 3, 4]) } : {}),
  });
  return {
    action: pick(r, ["Allow", "Allow", "Deny", "Pass", "Log"]),
    ...(protocol !== undefined ? { protocol } : {}),
    ...(chance(r, 0.1) ? { notProtocol: pick(r, PROTOCOLS) } : {}),
    ...(chance(r, 0.1) ? { ipVersion: pick(r, [4, 6] as const) } : {}),
    ...(icmpish && chance(r, 0.2) ? { icmp: icmp() } : {}),
    ...(icmpish && chance(r, 0.15) ? { notIcmp: icmp() } : {}),
    source: entity(r, protocol),
    destination: entity(r, protocol),
    origin: { policy: { kind: "GlobalNetworkPolicy", name: policy }, direction, index },
  };
}

export interface RandomDataplane {
  readonly state: DataplaneState;
  /** The state as the deltas that build it, in the engine's dependency order. */
  readonly deltas: Delta[];
}

export function randomDataplane(r: Random): RandomDataplane {
  const sets = new Map<SetId, { spec: SetSpec; members: ReadonlyMap<MemberKey, SetMember> }>();
  const specs: SetSpec[] = [
    ...addressSets.map((id) => ({ id, kind: "addresses" as const, selector: `app == '${id}'` })),
    ...namedSets.map((id) => ({
      id,
      kind: "named-ports" as const,
      selector: "all()",
      portName: "http",
    })),
    ...nodeSets.map((id) => ({ id, kind: "nodes" as const, selector: "zone == 'z1'" })),
  ];
  for (const spec of specs) sets.set(spec.id, { spec, members: memberMap(members(r, spec.kind)) });
  const policies = new Map<PolicyId, DpPolicy>();
  for (let i = 0; i < 5; i++) {
    const id = `GlobalNetworkPolicy//p${i}` as PolicyId;
    const rules = (d: "ingress" | "egress") =>
      Array.from({ length: Math.floor(r() * 4) }, (_, k) => rule(r, id, d, k));
    policies.set(id, {
      id,
      tier: pick(r, ["t1", "t2", "t3"]),
      ingress: rules("ingress"),
      egress: rules("egress"),
    });
  }
  const ids = [...policies.keys()];
  const tiers = () =>
    ["t1", "t2", "t3"].flatMap((name) => {
      const chosen = some(r, ids, 0.35);
      return chosen.length === 0
        ? []
        : [{ name, defaultAction: pick(r, ["Deny", "Pass"] as const), policies: chosen }];
    });
  const endpoints = new Map<EndpointId, DpEndpoint>();
  for (let i = 0; i < 4; i++) {
    const id = `ns/pod-${i}` as EndpointId;
    const addresses = [V4[i]!, ...(chance(r, 0.6) ? [V6[i]!] : [])];
    const interfaceName = `veth${i}`;
    endpoints.set(id, {
      id,
      kind: "workload",
      interfaceName,
      addresses,
      ingress: tiers(),
      egress: tiers(),
    });
  }
  // A host endpoint with every stage (no address: the packet tests judge workloads).
  const hostId = "node-eth" as EndpointId;
  endpoints.set(hostId, {
    id: hostId,
    kind: "host",
    addresses: [],
    ingress: tiers(),
    egress: tiers(),
    hostStages: {
      // Not "*": the packet simulator's packets carry no interface, which "*" would take in.
      interfaces: ["eth0"],
      untracked: { ingress: tiers(), egress: tiers() },
      preDNAT: tiers(),
      forward: { ingress: tiers(), egress: tiers() },
    },
  });
  const deltas: Delta[] = [];
  for (const { spec, members: m } of sets.values()) {
    deltas.push({ type: "set-added", set: spec });
    if (m.size) deltas.push({ type: "set-members-added", id: spec.id, members: [...m.values()] });
  }
  for (const policy of policies.values()) deltas.push({ type: "policy-upserted", policy });
  for (const endpoint of endpoints.values()) deltas.push({ type: "endpoint-upserted", endpoint });
  return { state: { sets, policies, endpoints }, deltas };
}

const PROTOCOL_NUMBERS: Record<string, number> = {
  TCP: 6,
  UDP: 17,
  SCTP: 132,
  ICMP: 1,
  ICMPv6: 58,
  UDPLite: 136,
};

export interface JudgedPacket {
  readonly memory: Packet;
  readonly sim: SimPacket;
  readonly text: string;
}

export function randomPacket(r: Random): JudgedPacket {
  const family = chance(r, 0.7) ? 4 : 6;
  const pool = [
    ...(family === 4 ? V4 : V6),
    ...EXTERNAL.filter((a) => a.includes(":") === (family === 6)),
  ];
  const source = pick(r, pool);
  const destination = pick(r, pool);
  // ICMP travels over IPv4 and ICMPv6 over IPv6; nft reads their types only so.
  const drawn = pick(r, PROTOCOLS);
  const protocol =
    drawn === "ICMP" && family === 6
      ? "ICMPv6"
      : drawn === "ICMPv6" && family === 4
        ? "ICMP"
        : drawn;
  const number = typeof protocol === "number" ? protocol : PROTOCOL_NUMBERS[protocol]!;
  const portful = [6, 17, 132, 136].includes(number);
  const port = pick(r, [...PORTS, 85, 150]);
  const icmp =
    number === 1 || number === 58
      ? { type: pick(r, [0, 3, 8, 128]), code: pick(r, [0, 3, 4]) }
      : undefined;
  const memory: Packet = {
    source,
    destination,
    protocol,
    ...(portful ? { port, sourcePort: 40000 } : {}),
    ...(icmp ? { icmp } : {}),
  };
  const sim: SimPacket = {
    family,
    saddr: source,
    daddr: destination,
    l4proto: number,
    ...(portful ? { sport: 40000, dport: port } : {}),
    ...(icmp ? { icmpType: icmp.type, icmpCode: icmp.code } : {}),
  };
  const what = portful
    ? `${port}/${protocol}`
    : icmp
      ? `${protocol} ${icmp.type}/${icmp.code}`
      : `${protocol}`;
  return { memory, sim, text: `${source} -> ${destination} ${what}` };
}
