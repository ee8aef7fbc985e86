// Per policy and rule counters from the kernel: every rule of a policy chain carries an nft
// counter, so reading the table back (`nft -j list table`) gives, per tier, policy, direction
// and outcome, the packets its rules took. Policy chains see only packets that are not part of
// an established connection, so for TCP these count connection attempts. A rule that writes an
// NFLOG prefix (Deny, Log, and Allow when allowed connections are logged) names its rule index;
// so does an Allow rule after its sampling rule (which logs 1 in N and counts nothing); the
// other rules add to their policy's total for that outcome.
import { MARK_ALLOW, MARK_PASS, parseLogPrefix, policyChain } from "../dataplane/nftables/index.ts";
import type { DpPolicy, PolicyId } from "../engine/index.ts";
import { policyLabelOfId } from "../flows/index.ts";
import type { RuleModel, Stmt, TableModel } from "../nft/index.ts";
import type { Direction } from "../policy/index.ts";
import type { PolicyCounter } from "./status.ts";

type Outcome = PolicyCounter["action"];

/** What a policy chain's rule does with the packets it matches; undefined for none of these. */
function outcomeOf(body: readonly Stmt[]): Outcome | undefined {
  for (const s of body) {
    if (s.kind === "mark" && (s.value & MARK_ALLOW) !== 0) return "allow";
    if (s.kind === "mark" && (s.value & MARK_PASS) !== 0) return "pass";
    if (s.kind === "drop") return "deny";
  }
  return body.some((s) => s.kind === "log") ? "log" : undefined;
}

function ruleIndexOf(rule: RuleModel): number | undefined {
  for (const s of rule.body) {
    if (s.kind === "log" && s.prefix !== undefined) return parseLogPrefix(s.prefix)?.rule;
  }
  return undefined;
}

/** Sums the counters of the policy chains of `policies` found in `table`. */
export function policyCounters(
  table: TableModel,
  policies: ReadonlyMap<PolicyId, DpPolicy>,
): PolicyCounter[] {
  const chains = new Map<string, { policy: DpPolicy; direction: Direction }>();
  for (const policy of policies.values()) {
    for (const direction of ["ingress", "egress"] as const) {
      chains.set(policyChain(policy.id, direction), { policy, direction });
    }
  }
  const totals = new Map<string, PolicyCounter>();
  for (const chain of table.chains) {
    const owner = chains.get(chain.name);
    if (!owner) continue;
    let sampled: number | undefined;
    for (const rule of chain.rules) {
      const counter = rule.body.find((s) => s.kind === "counter");
      const action = outcomeOf(rule.body);
      if (counter?.kind !== "counter") {
        sampled = ruleIndexOf(rule);
        continue;
      }
      const index = ruleIndexOf(rule) ?? sampled;
      sampled = undefined;
      if (action === undefined) continue;
      const key = `${owner.policy.id}|${owner.direction}|${index ?? "-"}|${action}`;
      const total = totals.get(key) ?? {
        tier: owner.policy.tier,
        policy: policyLabelOfId(owner.policy.id),
        direction: owner.direction,
        ...(index !== undefined ? { rule: index } : {}),
        action,
        packets: 0,
        bytes: 0,
      };
      totals.set(key, {
        ...total,
        packets: total.packets + (counter.packets ?? 0),
        bytes: total.bytes + (counter.bytes ?? 0),
      });
    }
  }
  return [...totals.values()].sort(
    (a, b) =>
      a.tier.localeCompare(b.tier) ||
      a.policy.localeCompare(b.policy) ||
      a.direction.localeCompare(b.direction) ||
      (a.rule ?? -1) - (b.rule ?? -1) ||
      a.action.localeCompare(b.action),
  );
}
