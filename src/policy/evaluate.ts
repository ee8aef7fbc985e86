// Judges flows against a tiered program: egress at the source, ingress at the destination.
import type { PeerContext } from "./match.ts";
import { ruleMatches } from "./match.ts";
import type {
  Direction,
  Endpoint,
  Flow,
  HostStage,
  Policy,
  Program,
  RuleOrigin,
  Tier,
} from "./types.ts";
import type { Decision, DirectionVerdict, Verdict } from "./verdict.ts";

/** The policies of one tier that select one endpoint in one direction, in evaluation order. */
type Selection = ReadonlyArray<{ readonly tier: Tier; readonly policies: readonly Policy[] }>;

/** Which policies a walk sees: normal ones, or one host endpoint stage's. */
type Stage = HostStage | "normal" | "forward";
type ByDirection = { ingress?: Selection; egress?: Selection };
/** Normal selections at the top (the matrix's hot path), stage ones beside them. */
type Cached = ByDirection & { stages?: Partial<Record<Stage, ByDirection>> };

/**
 * Calico's order on a host endpoint's own traffic: untracked policy first (ingress and
 * egress), then pre-DNAT (ingress only), then normal policy. Untracked and pre-DNAT tiers end
 * in Pass (Felix), so only a rule decides there; an Allow skips the later stages.
 */
const HOST_STAGES: Readonly<Record<Direction, readonly HostStage[]>> = {
  ingress: ["untracked", "preDNAT"],
  egress: ["untracked"],
};

export class Evaluator {
  /**
   * Per endpoint object (a selection depends on its labels alone): a lookup without building a
   * string key, as a matrix asks millions of times.
   */
  readonly #selections = new WeakMap<Endpoint, Cached>();
  /** Whether any policy has a host endpoint stage: without, no flow needs the stage checks. */
  readonly #stages: boolean;

  constructor(
    readonly program: Program,
    private readonly ctx: PeerContext,
  ) {
    this.#stages = program.tiers.some((t) =>
      t.policies.some((p) => p.stage !== undefined || p.applyOnForward === true),
    );
  }

  /**
   * Tiers and policies applying to an endpoint in a direction (normal policies unless a host
   * endpoint stage is asked for); cached per endpoint.
   */
  selection(endpoint: Endpoint, direction: Direction, stage: Stage = "normal"): Selection {
    let cached = this.#selections.get(endpoint);
    if (cached === undefined) {
      cached = {};
      this.#selections.set(endpoint, cached);
    }
    let byDirection: ByDirection = cached;
    if (stage !== "normal") {
      cached.stages ??= {};
      byDirection = cached.stages[stage] ??= {};
    }
    let sel = byDirection[direction];
    if (sel === undefined) {
      const found: Array<{ tier: Tier; policies: Policy[] }> = [];
      for (const tier of this.program.tiers) {
        const policies = tier.policies.filter(
          (p) =>
            (stage === "forward"
              ? p.stage === undefined && p.applyOnForward === true
              : (p.stage ?? "normal") === stage) &&
            p.types.includes(direction) &&
            p.selector.matches(endpoint.labels),
        );
        if (policies.length > 0) found.push({ tier, policies });
      }
      sel = found;
      byDirection[direction] = sel;
    }
    return sel;
  }

  evaluate(flow: Flow): Verdict {
    const src = flow.source.endpoint;
    const dst = flow.destination.endpoint;
    if (src && dst && src.id === dst.id) {
      const self = (direction: Direction) => open(direction, { kind: "self" });
      return { allowed: true, egress: self("egress"), ingress: self("ingress") };
    }
    const egress = this.judge("egress", src, flow);
    const ingress = this.judge("ingress", dst, flow);
    return { allowed: egress.allowed && ingress.allowed, egress, ingress };
  }

  private judge(direction: Direction, subject: Endpoint | undefined, flow: Flow): DirectionVerdict {
    if (!subject || subject.kind === "NetworkSet" || subject.kind === "GlobalNetworkSet") {
      return open(direction, { kind: "not-a-workload" });
    }
    if (subject.hostNetwork) return open(direction, { kind: "host-network" });
    if (this.#stages && crossesHostInterface(subject, direction, flow)) {
      for (const stage of HOST_STAGES[direction]) {
        const selection = this.selection(subject, direction, stage);
        const v = this.walk(direction, selection, subject, flow, true);
        // Stage tiers end in Pass: only a rule's Allow or Deny decides here.
        if (v.decision.kind === "rule") return { ...v, stage };
      }
    }
    const forwarded = this.#stages ? this.forwarded(direction, subject, flow) : undefined;
    if (forwarded) return forwarded;
    const selection = this.selection(subject, direction);
    if (selection.length === 0) return open(direction, { kind: "no-policy" });
    return this.walk(direction, selection, subject, flow, false);
  }

  /**
   * A workload's flow with a peer off its node crosses the node's host endpoints (offline, every
   * one that names an interface, since which one a packet takes is not known): on the way in,
   * their untracked and pre-DNAT ingress (a rule's Allow skips the rest of that host
   * endpoint's policy), then their applyOnForward ingress; on the way out, their applyOnForward
   * egress. A Deny there is the verdict; else the workload's own policy decides, as in the
   * kernel's forward hook.
   */
  private forwarded(
    direction: Direction,
    subject: Endpoint,
    flow: Flow,
  ): DirectionVerdict | undefined {
    if (subject.kind !== "Pod" && subject.kind !== "WorkloadEndpoint") return undefined;
    if (subject.node === undefined) return undefined;
    // A peer on the same node (a workload, the host itself) does not cross a host endpoint.
    const peer = (direction === "ingress" ? flow.source : flow.destination).endpoint;
    if (peer?.node === subject.node) return undefined;
    hosts: for (const hep of this.ctx.hostEndpointsOn(subject.node)) {
      const early: readonly HostStage[] = direction === "ingress" ? ["untracked", "preDNAT"] : [];
      for (const stage of early) {
        const v = this.walk(direction, this.selection(hep, direction, stage), hep, flow, true);
        if (v.decision.kind !== "rule") continue;
        if (v.allowed) continue hosts;
        return { ...v, stage, hostEndpoint: hep.id };
      }
      const selection = this.selection(hep, direction, "forward");
      if (selection.length === 0) continue;
      const v = this.walk(direction, selection, hep, flow, false);
      if (!v.allowed) return { ...v, stage: "forward", hostEndpoint: hep.id };
    }
    return undefined;
  }

  private walk(
    direction: Direction,
    selection: Selection,
    subject: Endpoint,
    flow: Flow,
    tiersPass: boolean,
  ): DirectionVerdict {
    const logged: RuleOrigin[] = [];
    const passed: string[] = [];
    tiers: for (const { tier, policies } of selection) {
      for (const policy of policies) {
        const rules = direction === "ingress" ? policy.ingress : policy.egress;
        for (const rule of rules) {
          if (!ruleMatches(rule, flow, subject, this.ctx)) continue;
          if (rule.action === "Log") {
            logged.push(rule.origin);
            continue;
          }
          if (rule.action === "Pass") {
            passed.push(tier.name);
            continue tiers;
          }
          const decision: Decision = {
            kind: "rule",
            tier: tier.name,
            policy: policy.ref,
            ruleIndex: rule.origin.index,
            action: rule.action,
            ...(rule.origin.name !== undefined ? { ruleName: rule.origin.name } : {}),
          };
          return { direction, allowed: rule.action === "Allow", decision, logged, passed };
        }
      }
      if (tier.defaultAction === "Pass" || tiersPass) {
        passed.push(tier.name);
        continue;
      }
      const decision: Decision = { kind: "tier-default", tier: tier.name, action: "Deny" };
      return { direction, allowed: false, decision, logged, passed };
    }
    return {
      direction,
      allowed: true,
      decision: { kind: "passed-all", tiers: passed },
      logged,
      passed,
    };
  }
}

/**
 * Whether a flow to or from a host endpoint crosses its interface, where the stages apply:
 * yes unless the peer is a workload on the host endpoint's own node (its packets use the
 * workload's interface, where only normal policy and the endpoint-to-host action apply).
 */
function crossesHostInterface(subject: Endpoint, direction: Direction, flow: Flow): boolean {
  if (subject.kind !== "HostEndpoint") return false;
  const peer = (direction === "ingress" ? flow.source : flow.destination).endpoint;
  const local =
    peer !== undefined &&
    (peer.kind === "Pod" || peer.kind === "WorkloadEndpoint") &&
    peer.node !== undefined &&
    peer.node === subject.node;
  return !local;
}

function open(direction: Direction, decision: Decision): DirectionVerdict {
  return { direction, allowed: true, decision, logged: [], passed: [] };
}
