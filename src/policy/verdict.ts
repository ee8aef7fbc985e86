// What evaluation says about a flow, and why: the trace explain prints.
import type { Direction, HostStage, PolicyRef, RuleOrigin } from "./types.ts";

export type Decision =
  | {
      readonly kind: "rule";
      readonly tier: string;
      readonly policy: PolicyRef;
      readonly ruleIndex: number;
      readonly ruleName?: string;
      readonly action: "Allow" | "Deny";
    }
  /** Some policy in the tier selected the endpoint but no rule matched. */
  | { readonly kind: "tier-default"; readonly tier: string; readonly action: "Deny" }
  /** No policy in any tier selects the endpoint in this direction: open. */
  | { readonly kind: "no-policy" }
  /** Every tier that selected the endpoint passed: open, as Calico's default profile. */
  | { readonly kind: "passed-all"; readonly tiers: readonly string[] }
  /** A workload always reaches itself. */
  | { readonly kind: "self" }
  /** The side is an address that is no workload of ours: nothing to enforce there. */
  | { readonly kind: "not-a-workload" }
  /** Host-network pods share the node's stack; pod policy does not apply to them. */
  | { readonly kind: "host-network" };

export interface DirectionVerdict {
  readonly direction: Direction;
  readonly allowed: boolean;
  readonly decision: Decision;
  /** Log rules matched on the way, in order. */
  readonly logged: readonly RuleOrigin[];
  /** Tiers left through a Pass (rule or tier default). */
  readonly passed: readonly string[];
  /** Decided by a host endpoint stage before normal policy (unset: normal policy decided). */
  readonly stage?: HostStage | "forward";
  /** The host endpoint whose stage denied a workload's forwarded flow. */
  readonly hostEndpoint?: string;
}

/** Where in the kernel each host endpoint stage is judged, for explain. */
export const STAGE_HOOKS: Readonly<Record<HostStage | "forward", string>> = {
  forward: "applyOnForward policy: forward hook, on traffic forwarded through the host endpoint",
  untracked:
    "untracked policy (doNotTrack): raw prerouting/output, before conntrack; an allowed packet is not tracked",
  preDNAT: "pre-DNAT policy: prerouting before DNAT, on the packet's original destination",
};

export interface Verdict {
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
}

/**
 * A policy as the user wrote it: the kind as its manifest spells it (Kubernetes' NetworkPolicy
 * with its group, as lint names objects, so it is not read as Calico's) and `metadata.name` as
 * written (`devops.stage-env`, not the tier-less identity).
 */
export function policyLabel(ref: PolicyRef): string {
  const kind =
    ref.kind === "KubernetesNetworkPolicy" ? "networking.k8s.io/NetworkPolicy" : ref.kind;
  const ns = ref.namespace ? `${ref.namespace}/` : "";
  return `${kind} ${ns}${ref.writtenName ?? ref.name}`;
}

export function describeDecision(d: Decision): string {
  switch (d.kind) {
    case "rule": {
      const rule = d.ruleName ? ` (${d.ruleName})` : "";
      return `${d.action} by tier ${d.tier}, ${policyLabel(d.policy)}, rule ${d.ruleIndex}${rule}`;
    }
    case "tier-default":
      return `Deny by the default action of tier ${d.tier} (policies select the endpoint, no rule matched)`;
    case "no-policy":
      return "Allow: no policy selects this endpoint";
    case "passed-all":
      return `Allow: every selecting tier passed (${d.tiers.join(", ")})`;
    case "self":
      return "Allow: a workload always reaches itself";
    case "not-a-workload":
      return "Allow: this side is not a workload, nothing is enforced there";
    case "host-network":
      return "Allow: host-network pods are not subject to pod policy";
  }
}
