// Log rules with no condition log every new connection of every endpoint they select.
import type { Check, Finding } from "../finding.ts";
import { PolicyObjects, rulePath } from "../objects.ts";
import { matchesEverything } from "../walk.ts";

export const logEverything: Check = {
  id: "log.everything",
  severity: "warning",
  summary:
    "Log rules without any condition: every new connection of the selected endpoints is logged",
  run(input) {
    const objects = new PolicyObjects(input.resources);
    const findings: Finding[] = [];
    for (const p of input.world.program.tiers.flatMap((t) => t.policies)) {
      for (const rule of [...p.ingress, ...p.egress]) {
        if (rule.action !== "Log" || !matchesEverything(rule)) continue;
        findings.push({
          check: this.id,
          severity: this.severity,
          object: objects.nameOf(p.ref),
          path: rulePath(rule.origin.direction, rule.origin.index),
          message: `logs every ${rule.origin.direction} connection of every endpoint the policy selects; give it a protocol, port or peer`,
        });
      }
    }
    return findings;
  },
};
