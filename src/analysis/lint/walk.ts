// The order an endpoint's packets meet rules in: per direction, the selecting tiers in order,
// their policies in (order, name) order, each policy's rules in order. Checks about reach
// (shadowed rules, Pass, isolation) walk it for every endpoint.
import {
  DIRECTIONS,
  type Direction,
  type Endpoint,
  type EntityMatch,
  type Policy,
  type PolicyRef,
  type Rule,
  type Tier,
  type World,
} from "../../policy/index.ts";

export const policyKey = (ref: PolicyRef) =>
  `${ref.kind}\u0000${ref.namespace ?? ""}\u0000${ref.name}`;

/** A rule as written: one source rule may compile to several (Kubernetes peers x ports). */
export const ruleKey = (rule: Rule) =>
  `${policyKey(rule.origin.policy)}\u0000${rule.origin.direction}\u0000${rule.origin.index}`;

/** Endpoints that policy applies to: workloads and host endpoints, not host-network pods. */
export function subjects(world: World): Endpoint[] {
  return world.cluster.endpoints.filter((e) => !e.hostNetwork);
}

export interface Step {
  readonly endpoint: Endpoint;
  readonly direction: Direction;
  readonly tier: Tier;
  /** Position of the tier among the endpoint's selecting tiers. */
  readonly tierIndex: number;
  readonly tierCount: number;
  readonly policy: Policy;
  readonly rule: Rule;
}

/** Every (endpoint, direction, selecting tier, policy, rule) in evaluation order. */
export function* walk(world: World): Generator<Step> {
  for (const endpoint of subjects(world)) {
    for (const direction of DIRECTIONS) {
      const selection = world.evaluator.selection(endpoint, direction);
      for (const [tierIndex, { tier, policies }] of selection.entries()) {
        for (const policy of policies) {
          const rules = direction === "ingress" ? policy.ingress : policy.egress;
          for (const rule of rules)
            yield {
              endpoint,
              direction,
              tier,
              tierIndex,
              tierCount: selection.length,
              policy,
              rule,
            };
        }
      }
    }
  }
}

const sideMatch = (e: EntityMatch) => ({
  selector: e.selector?.key,
  notSelector: e.notSelector?.key,
  nets: e.nets?.map((c) => c.text).sort(),
  notNets: e.notNets?.map((c) => c.text).sort(),
  ports: e.ports?.map((p) => (p.kind === "named" ? p.name : `${p.from}-${p.to}`)).sort(),
  notPorts: e.notPorts?.map((p) => (p.kind === "named" ? p.name : `${p.from}-${p.to}`)).sort(),
  nodeSelector: e.nodeSelector?.key,
  sameNamespaceLabels: e.sameNamespaceLabels,
  notSameNamespaceLabels: e.notSameNamespaceLabels,
});

/** Computed once per rule: the reach walk compares each rule with many. */
const fieldsCache = new WeakMap<Rule, Record<string, string>>();

/** A rule's match as plain fields (each as text; absent when unset): equal fields, same packets. */
function matchFields(r: Rule): Record<string, string> {
  let cached = fieldsCache.get(r);
  if (!cached) {
    cached = {};
    for (const [k, v] of Object.entries(rawFields(r)))
      if (v !== undefined) cached[k] = JSON.stringify(v);
    fieldsCache.set(r, cached);
  }
  return cached;
}

function rawFields(r: Rule): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    protocol: r.protocol,
    notProtocol: r.notProtocol,
    ipVersion: r.ipVersion,
    icmp: r.icmp ? `${r.icmp.type}/${r.icmp.code ?? ""}` : undefined,
    notIcmp: r.notIcmp ? `${r.notIcmp.type}/${r.notIcmp.code ?? ""}` : undefined,
  };
  for (const [side, e] of [
    ["source", r.source],
    ["destination", r.destination],
  ] as const) {
    for (const [k, v] of Object.entries(sideMatch(e))) fields[`${side}.${k}`] = v;
  }
  return fields;
}

/**
 * `a` matches every packet `b` matches because each condition `a` sets, `b` sets identically
 * (conservative: a wider range or a broader selector is not recognised).
 */
export function subsumes(a: Rule, b: Rule): boolean {
  const fb = matchFields(b);
  for (const [k, v] of Object.entries(matchFields(a))) if (v !== fb[k]) return false;
  return true;
}

/** A rule that sets no condition at all. */
export function matchesEverything(r: Rule): boolean {
  return Object.keys(matchFields(r)).length === 0;
}
