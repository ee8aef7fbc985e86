// The built-in tiers and their places, as Calico orders them: AdminNetworkPolicy first, then
// user tiers and "default" by order, BaselineAdminNetworkPolicy last.
import type { TierDefaultAction } from "../types.ts";

export const ADMIN_TIER = "adminnetworkpolicy";
export const DEFAULT_TIER = "default";
export const BASELINE_TIER = "baselineadminnetworkpolicy";

export const ADMIN_TIER_ORDER = 1_000;
export const DEFAULT_TIER_ORDER = 1_000_000;
export const BASELINE_TIER_ORDER = 10_000_000;
/** Calico gives converted Kubernetes policies order 1000 inside the default tier. */
export const KUBERNETES_POLICY_ORDER = 1_000;
/** And the BaselineAdminNetworkPolicy order 1000 inside its tier (tiered-policy docs). */
export const BASELINE_POLICY_ORDER = 1_000;

export interface TierSpec {
  readonly name: string;
  readonly order?: number;
  readonly defaultAction: TierDefaultAction;
}

/** Built-in tiers; a user Tier object may only change the default tier's defaultAction. */
export const BUILTIN_TIERS: readonly TierSpec[] = [
  // No ANP match means "carry on" to NetworkPolicy.
  { name: ADMIN_TIER, order: ADMIN_TIER_ORDER, defaultAction: "Pass" },
  { name: DEFAULT_TIER, order: DEFAULT_TIER_ORDER, defaultAction: "Deny" },
  // No BANP match means the endpoint is open, as with no policy at all.
  { name: BASELINE_TIER, order: BASELINE_TIER_ORDER, defaultAction: "Pass" },
];
