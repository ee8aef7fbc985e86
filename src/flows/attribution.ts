// Why a packet was dropped when no rule denied it: a tier's default action (Kubernetes isolation
// is the default tier's) names the policies of that tier that selected the endpoint in that
// direction; an address that is no endpoint's, and the start-up table, name themselves.
import type { Direction, Endpoint, Policy, PolicyRef, Program } from "../policy/index.ts";

/** `namespace/name` for namespaced policies, `name` for global ones (tier prefix dropped). */
export function policyLabel(ref: PolicyRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** The same label from an engine policy id (`kind/namespace/name`). */
export function policyLabelOfId(id: string): string {
  const [, ns, ...name] = id.split("/");
  if (name.length === 0) return id;
  return ns ? `${ns}/${name.join("/")}` : name.join("/");
}

/** The policies of `tier` that select `endpoint` for `direction`, in evaluation order. */
export function isolatingPolicies(
  program: Program,
  tier: string,
  endpoint: Endpoint,
  direction: Direction,
): Policy[] {
  const t = program.tiers.find((x) => x.name === tier);
  if (!t) return [];
  return t.policies.filter(
    (p) => p.types.includes(direction) && p.selector.matches(endpoint.labels),
  );
}

/** The policies of every tier that select `endpoint` for `direction`, in evaluation order. */
export function selectingPolicies(
  program: Program,
  endpoint: Endpoint,
  direction: Direction,
): Policy[] {
  return program.tiers.flatMap((t) =>
    t.policies.filter((p) => p.types.includes(direction) && p.selector.matches(endpoint.labels)),
  );
}

/** `namespace/name`, or the name of a global endpoint. */
export const endpointName = (ep: Endpoint): string =>
  ep.namespace ? `${ep.namespace}/${ep.name}` : ep.name;

/**
 * Allowed past the endpoint's last tier: as Kubernetes has it, an endpoint no policy selects in
 * a direction is not isolated that way; one that policies select got there because every tier
 * passed it.
 */
export function allowedByDefaultReason(
  direction: Direction,
  subject: string | undefined,
  selecting: readonly string[],
): string {
  if (subject === undefined) {
    return `allowed by default (${direction}); the endpoint was not known at the packet's time`;
  }
  if (selecting.length === 0) {
    return `no policy selects ${subject} (${direction}): not isolated, allowed by default`;
  }
  return `every tier passed ${subject} (${direction}, selected by ${selecting.join(", ")}): allowed at the end of its tiers`;
}

export interface Target {
  readonly ip: string;
  readonly port?: number;
  readonly proto: string;
}

const targetText = (t: Target) =>
  `${t.ip.includes(":") ? `[${t.ip}]` : t.ip}${t.port !== undefined ? `:${t.port}` : ""}/${t.proto.toUpperCase()}`;

export function tierDefaultReason(
  tier: string,
  direction: Direction,
  isolatedBy: readonly string[],
  target: Target,
  subjectKnown: boolean,
): string {
  if (!subjectKnown) {
    return `denied by tier ${tier}'s default action (${direction}); the endpoint was not known at the packet's time`;
  }
  if (isolatedBy.length === 0) {
    return `denied by tier ${tier}'s default action (${direction}); no policy of the tier selects the endpoint any more`;
  }
  return `isolated by ${isolatedBy.join(", ")} (${direction}, tier ${tier}), no rule allowed ${targetText(target)}`;
}

export function unknownAddressReason(ip: string, iface: string | undefined): string {
  const where = iface ? ` on workload interface ${iface}` : "";
  return `unknown address: ${ip}${where} is no local endpoint's (spoofed, or its workload is not yet known)`;
}

export const ENDPOINT_TO_HOST_REASON =
  "endpoint to host: the workload's egress allowed it, the node's defaultEndpointToHostAction drops it";

export const STARTUP_REASON =
  "agent starting: workload traffic is dropped until the first full sync";
