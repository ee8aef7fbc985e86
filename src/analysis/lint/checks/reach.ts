// Checks about which rules an endpoint's packets reach: rules shadowed by earlier rules or
// earlier tiers, Pass rules after which no tier decides, and deny-only policies that isolate.
import type { Direction, Endpoint, Policy, Rule, Tier, World } from "../../../policy/index.ts";
import type { Check, Finding, LintInput } from "../finding.ts";
import { PolicyObjects, rulePath } from "../objects.ts";
import { matchesEverything, policyKey, ruleKey, subjects, subsumes } from "../walk.ts";

interface RuleReach {
  readonly rule: Rule;
  /** Endpoints whose walk meets the rule (once each), and walks in which packets reach it. */
  met: number;
  lastMet?: Endpoint;
  reached: number;
  /** Why it was not reached, for the first endpoint that did not reach it. */
  cause?: string;
  /** For Pass rules: an endpoint reached it with no later tier selecting it. */
  undecidedFor?: Endpoint;
  undecided: number;
}

const ruleName = (objects: PolicyObjects, r: Rule) =>
  `rule ${r.origin.index} of ${objects.nameOf(r.origin.policy)}`;

/** One endpoint's walk in one direction, recording per rule whether packets can reach it. */
function walkEndpoint(
  world: World,
  objects: PolicyObjects,
  endpoint: Endpoint,
  direction: Direction,
  reach: Map<string, RuleReach>,
): void {
  const selection = world.evaluator.selection(endpoint, direction);
  let cut: string | undefined;
  selection.forEach(({ tier, policies }, tierIndex) => {
    const earlier: Rule[] = [];
    let blocked: string | undefined;
    let passes = false;
    for (const policy of policies) {
      for (const rule of direction === "ingress" ? policy.ingress : policy.egress) {
        const key = ruleKey(rule);
        let r = reach.get(key);
        if (!r) {
          r = { rule, met: 0, reached: 0, undecided: 0 };
          reach.set(key, r);
        }
        if (r.lastMet !== endpoint) r.met++;
        r.lastMet = endpoint;
        const shadow = cut ?? blocked ?? earlier.find((a) => subsumes(a, rule));
        if (shadow !== undefined) {
          r.cause ??=
            typeof shadow === "string"
              ? shadow
              : `${ruleName(objects, shadow)} (tier ${tier.name}) matches every packet it matches and comes first`;
          continue;
        }
        r.reached++;
        if (rule.action === "Log") continue;
        earlier.push(rule);
        if (rule.action === "Pass") {
          passes = true;
          if (tierIndex === selection.length - 1) {
            r.undecided++;
            r.undecidedFor ??= endpoint;
          }
        }
        if (matchesEverything(rule))
          blocked = `${ruleName(objects, rule)} (tier ${tier.name}) matches everything and comes first`;
      }
    }
    const exits = passes || (blocked === undefined && tier.defaultAction === "Pass");
    cut ??= exits
      ? undefined
      : `tier ${tier.name} decides every packet of this endpoint first (no Pass reaches later tiers)`;
  });
}

function reachOf(world: World, objects: PolicyObjects): Map<string, RuleReach> {
  const reach = new Map<string, RuleReach>();
  for (const e of subjects(world)) {
    walkEndpoint(world, objects, e, "ingress", reach);
    walkEndpoint(world, objects, e, "egress", reach);
  }
  return reach;
}

/** Reach is computed once per lint run and shared by the two checks that read it. */
const cache = new WeakMap<World, Map<string, RuleReach>>();
function cachedReach(input: LintInput, objects: PolicyObjects): Map<string, RuleReach> {
  let r = cache.get(input.world);
  if (!r) {
    r = reachOf(input.world, objects);
    cache.set(input.world, r);
  }
  return r;
}

export const shadowedRule: Check = {
  id: "rule.shadowed",
  severity: "warning",
  summary:
    "rules no packet of any selected endpoint can reach: an earlier rule or tier decides first",
  run(input) {
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    // Keyed by source rule: a Kubernetes rule's compiled parts count as one, reached if any is.
    for (const first of cachedReach(input, objects).values()) {
      if (first.reached > 0) continue;
      const { origin } = first.rule;
      findings.push({
        check: this.id,
        severity: this.severity,
        object: objects.nameOf(origin.policy),
        path: rulePath(origin.direction, origin.index),
        message: `reached by no packet of the ${first.met} endpoint(s) it applies to: ${first.cause}`,
      });
    }
    return findings;
  },
};

export const undecidedPass: Check = {
  id: "pass.undecided",
  severity: "warning",
  summary:
    "Pass rules after which no later tier has a policy for the endpoint (the flow is then allowed)",
  run(input) {
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    for (const r of cachedReach(input, objects).values()) {
      if (r.undecided === 0 || !r.undecidedFor) continue;
      const { origin } = r.rule;
      findings.push({
        check: this.id,
        severity: this.severity,
        object: objects.nameOf(origin.policy),
        path: rulePath(origin.direction, origin.index),
        message:
          `Pass hands ${origin.direction} of ${r.undecided} endpoint(s) (e.g. ${r.undecidedFor.id}) to later tiers, ` +
          "but no later tier has a policy selecting them: those flows are allowed",
      });
    }
    return dedupe(findings);
  },
};

const decides = (rules: readonly Rule[]) =>
  rules.some((r) => r.action === "Allow" || r.action === "Pass");

/** Policies of one tier selecting an endpoint in one direction, keyed by policy. */
function isolatedBy(
  world: World,
  direction: Direction,
): Map<string, { policy: Policy; tier: Tier; endpoints: Endpoint[] }> {
  const out = new Map<string, { policy: Policy; tier: Tier; endpoints: Endpoint[] }>();
  for (const e of subjects(world)) {
    for (const { tier, policies } of world.evaluator.selection(e, direction)) {
      if (tier.defaultAction !== "Deny") continue;
      const rulesOf = (p: Policy) => (direction === "ingress" ? p.ingress : p.egress);
      if (policies.some((p) => decides(rulesOf(p)))) continue;
      for (const p of policies) {
        if (!rulesOf(p).some((r) => r.action === "Deny")) continue;
        const key = policyKey(p.ref);
        const entry = out.get(key) ?? { policy: p, tier, endpoints: [] };
        entry.endpoints.push(e);
        out.set(key, entry);
      }
    }
  }
  return out;
}

export const denyOnlyIsolation: Check = {
  id: "isolation.deny-only",
  severity: "error",
  summary:
    "a policy with only Deny rules that switches on isolation: its tier's default Deny drops everything else",
  run(input) {
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    for (const direction of ["ingress", "egress"] as const) {
      for (const { policy, tier, endpoints } of isolatedBy(input.world, direction).values()) {
        findings.push({
          check: this.id,
          severity: this.severity,
          object: objects.nameOf(policy.ref),
          path: `spec.${direction}`,
          message:
            `only Deny rules for ${direction}, and no policy of tier ${tier.name} allows or passes anything for ` +
            `${endpoints.length} endpoint(s) it selects (e.g. ${endpoints[0]!.id}): the tier's default Deny drops ` +
            `all their other ${direction}; add an Allow or Pass rule, or give the tier defaultAction Pass`,
        });
      }
    }
    return findings;
  },
};

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.object}\u0000${f.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
