// ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2): one kind for both policy-api tiers.
// `tier: Admin` joins the AdminNetworkPolicy tier and `tier: Baseline` the
// BaselineAdminNetworkPolicy tier, each ordered by priority (Calico maps priority to order the
// same way); Accept is Allow, Pass skips to the next tier.
import type { ClusterNetworkPolicy, CnpProtocol } from "../../model/index.ts";
import type { SelectorCache } from "../scope.ts";
import type { Policy, PortMatch, Protocol } from "../types.ts";
import { compileTieredPolicy, type TieredRule } from "./admin.ts";
import { ADMIN_TIER, BASELINE_TIER } from "./tiers.ts";

type CnpRule =
  | NonNullable<ClusterNetworkPolicy["spec"]["ingress"]>[number]
  | NonNullable<ClusterNetworkPolicy["spec"]["egress"]>[number];

const PROTOCOLS = [
  ["tcp", "TCP"],
  ["udp", "UDP"],
  ["sctp", "SCTP"],
] as const;

function portEntry(p: CnpProtocol): { protocol?: Protocol; port: PortMatch } {
  if (p.destinationNamedPort !== undefined) {
    return { port: { kind: "named", name: p.destinationNamedPort } };
  }
  for (const [field, protocol] of PROTOCOLS) {
    const port = p[field]?.destinationPort;
    if (!port) continue;
    return port.range
      ? { protocol, port: { kind: "range", from: port.range.start, to: port.range.end } }
      : { protocol, port: { kind: "range", from: port.number!, to: port.number! } };
  }
  // The schema admits exactly one field; nothing else reaches here.
  throw new Error("ClusterNetworkPolicy protocol entry with no field");
}

function rule(r: CnpRule): TieredRule {
  return {
    ...(r.name ? { name: r.name } : {}),
    action: r.action === "Accept" ? "Allow" : r.action,
    peers: "from" in r ? r.from : r.to,
    ports: (r.protocols ?? []).map(portEntry),
  };
}

export function compileClusterNetworkPolicy(
  cnp: ClusterNetworkPolicy,
  cache: SelectorCache,
): Policy {
  return compileTieredPolicy(
    {
      ref: { kind: "ClusterNetworkPolicy", name: cnp.metadata.name },
      tier: cnp.spec.tier === "Admin" ? ADMIN_TIER : BASELINE_TIER,
      order: cnp.spec.priority,
      subject: cnp.spec.subject,
      ingress: (cnp.spec.ingress ?? []).map(rule),
      egress: (cnp.spec.egress ?? []).map(rule),
    },
    cache,
  );
}
