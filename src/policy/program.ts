// Assembles compiled policies into the ordered tiers the evaluator walks.
import { BUILTIN_TIERS, type TierSpec } from "./compile/tiers.ts";
import type { Policy, Program, Tier } from "./types.ts";

/** Lower order first, undefined last, then by name: Calico's order for tiers and policies. */
export function byOrderThenName(
  a: { order?: number; name: string },
  b: { order?: number; name: string },
): number {
  const ao = a.order ?? Number.POSITIVE_INFINITY;
  const bo = b.order ?? Number.POSITIVE_INFINITY;
  if (ao !== bo) return ao < bo ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Policies sort by (order, namespace/name) inside a tier. */
export function policySortKey(p: Policy): { order?: number; name: string } {
  const name = `${p.ref.namespace ?? ""}/${p.ref.name}`;
  return p.order !== undefined ? { order: p.order, name } : { name };
}

/**
 * User tiers merge over the built-in ones by name (only the default tier's defaultAction can
 * change; the built-in places are fixed). Policies naming an unknown tier are skipped by the
 * caller's validation; here they would form no tier at all.
 */
export function buildProgram(policies: readonly Policy[], userTiers: readonly TierSpec[]): Program {
  const specs = new Map<string, TierSpec>();
  for (const t of userTiers) specs.set(t.name, t);
  for (const t of BUILTIN_TIERS) {
    const user = specs.get(t.name);
    specs.set(t.name, user ? { ...t, defaultAction: user.defaultAction } : t);
  }
  const byTier = new Map<string, Policy[]>();
  for (const p of policies) {
    const list = byTier.get(p.tier);
    if (list) list.push(p);
    else byTier.set(p.tier, [p]);
  }
  const tiers: Tier[] = [...specs.values()].sort(byOrderThenName).map((spec) => ({
    name: spec.name,
    ...(spec.order !== undefined ? { order: spec.order } : {}),
    defaultAction: spec.defaultAction,
    policies: (byTier.get(spec.name) ?? []).sort((a, b) =>
      byOrderThenName(policySortKey(a), policySortKey(b)),
    ),
  }));
  return { tiers };
}
