// Selectors and named ports checked against the endpoints there are now: a policy or a rule
// side that matches nothing, a named port no endpoint the rule can reach declares.
import type { Endpoint, Policy, PolicyRef, Rule, World } from "../../../policy/index.ts";
import type { Check, Finding } from "../finding.ts";
import { isCalico, PolicyObjects, peerField, rulePath, subjectField } from "../objects.ts";
import { subjects } from "../walk.ts";

function policies(world: World): Policy[] {
  return world.program.tiers.flatMap((t) => t.policies);
}

/** The field a compiled rule side came from. */
function sidePath(rule: Rule, side: "source" | "destination"): string {
  const { policy, direction, index } = rule.origin;
  const base = rulePath(direction, index);
  if (isCalico(policy)) return `${base}.${side}`;
  return `${base}.${peerField(policy, direction)}`;
}

export const matchesNothing: Check = {
  id: "selector.matches-nothing",
  severity: "warning",
  summary: "policy and rule selectors that match no endpoint or network set now",
  run(input) {
    const { world } = input;
    const endpoints = subjects(world);
    // A set of policies without workloads (policies linted alone) says nothing about matches.
    if (endpoints.length === 0) return [];
    const holders: readonly Endpoint[] = [...endpoints, ...world.cluster.networkSets];
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    const add = (ref: PolicyRef, path: string, message: string) => {
      const object = objects.nameOf(ref);
      if (seen.has(`${object}\u0000${path}`)) return;
      seen.add(`${object}\u0000${path}`);
      findings.push({ check: this.id, severity: this.severity, object, path, message });
    };
    for (const p of policies(world)) {
      if (!endpoints.some((e) => p.selector.matches(e.labels)))
        add(p.ref, subjectField(p.ref), "selects no endpoint now: the policy applies to nothing");
      for (const rule of [...p.ingress, ...p.egress]) {
        for (const side of ["source", "destination"] as const) {
          const sel = rule[side].selector;
          if (!sel || holders.some((e) => sel.matches(e.labels))) continue;
          add(
            p.ref,
            sidePath(rule, side),
            `${side} selector ${sel.key} matches no endpoint or network set now`,
          );
        }
      }
    }
    return findings;
  },
};

/** The endpoints a rule's destination ports are resolved on. */
function portOwners(p: Policy, rule: Rule, endpoints: readonly Endpoint[]): Endpoint[] {
  if (rule.origin.direction === "ingress")
    return endpoints.filter((e) => p.selector.matches(e.labels));
  const sel = rule.destination.selector;
  return sel ? endpoints.filter((e) => sel.matches(e.labels)) : [...endpoints];
}

export const unknownNamedPort: Check = {
  id: "port.named-unknown",
  severity: "warning",
  summary: "named ports that no endpoint the rule reaches declares (the rule matches no port)",
  run(input) {
    const { world } = input;
    const endpoints = subjects(world);
    if (endpoints.length === 0) return [];
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const p of policies(world)) {
      for (const rule of [...p.ingress, ...p.egress]) {
        const names = (rule.destination.ports ?? []).flatMap((m) =>
          m.kind === "named" ? [m.name] : [],
        );
        if (names.length === 0) continue;
        const owners = portOwners(p, rule, endpoints);
        const { direction, index } = rule.origin;
        const path = isCalico(p.ref)
          ? `${rulePath(direction, index)}.destination.ports`
          : `${rulePath(direction, index)}.ports`;
        for (const name of names) {
          if (owners.some((e) => e.ports.some((np) => np.name === name))) continue;
          const key = `${objects.nameOf(p.ref)}\u0000${path}\u0000${name}`;
          if (seen.has(key)) continue;
          seen.add(key);
          findings.push({
            check: this.id,
            severity: this.severity,
            object: objects.nameOf(p.ref),
            path,
            message: `named port "${name}": none of the ${owners.length} endpoint(s) this rule's destination can be declares a port of that name, so it matches no port`,
          });
        }
      }
    }
    return findings;
  },
};

/**
 * Untracked (doNotTrack) and pre-DNAT policies apply to host endpoints only, as in Calico: one
 * that selects workloads but no host endpoint does nothing, which its author may not expect.
 */
export const stageSelectsWorkloadsOnly: Check = {
  id: "stage.workloads-only",
  severity: "warning",
  summary: "doNotTrack and preDNAT policies selecting workloads but no host endpoint (no effect)",
  run(input) {
    const { world } = input;
    const endpoints = subjects(world);
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    for (const p of policies(world)) {
      if (p.stage === undefined) continue;
      const selected = endpoints.filter((e) => p.selector.matches(e.labels));
      if (selected.length === 0 || selected.some((e) => e.kind === "HostEndpoint")) continue;
      const field = p.stage === "untracked" ? "doNotTrack" : "preDNAT";
      findings.push({
        check: this.id,
        severity: this.severity,
        object: objects.nameOf(p.ref),
        path: subjectField(p.ref),
        message: `${field} policy selects ${selected.length} workload(s) and no host endpoint: it applies to host endpoints only, so it enforces nothing`,
      });
    }
    return findings;
  },
};
