// Which policies select which endpoints. Subject selectors are interned by canonical text in
// the shared entity index, so a relabel or a policy edit touches only the endpoints whose match
// actually changes (the index reports those transitions to the resolver directly).
import type { Policy } from "../policy/index.ts";
import { type EntityIndex, subjectSelectorId } from "./entity-index.ts";
import type { EndpointId, PolicyId } from "./types.ts";

export interface EndpointDirtyListener {
  /** The endpoint's applicable policies (or their order, tier or types) may have changed. */
  onEndpointDirty(id: EndpointId): void;
}

export class PolicyMatcher {
  readonly #policies = new Map<PolicyId, Policy>();
  /** By subject selector id (`subject:<text>`), as the index reports matches. */
  readonly #bySubject = new Map<string, Set<PolicyId>>();

  constructor(
    private readonly index: EntityIndex,
    private readonly listener: EndpointDirtyListener,
  ) {}

  policy(id: PolicyId): Policy | undefined {
    return this.#policies.get(id);
  }

  /**
   * Only a change of selector, tier, order or types moves a policy within endpoints' lists, so
   * only those mark endpoints dirty; a rule edit is the rule scanner's business alone.
   */
  upsertPolicy(id: PolicyId, policy: Policy | undefined): void {
    const old = this.#policies.get(id);
    if (old && policy && !placementChanged(old, policy)) {
      this.#policies.set(id, policy);
      return;
    }
    if (old) {
      const subject = subjectSelectorId(old.selector.key);
      this.markSelected(subject);
      this.#policies.delete(id);
      const group = this.#bySubject.get(subject)!;
      group.delete(id);
      if (group.size === 0) {
        this.#bySubject.delete(subject);
        this.index.removeSelector(subject);
      }
    }
    if (policy) {
      this.#policies.set(id, policy);
      const subject = subjectSelectorId(policy.selector.key);
      const group = this.#bySubject.get(subject);
      if (group) {
        group.add(id);
        this.markSelected(subject);
      } else {
        this.#bySubject.set(subject, new Set([id]));
        this.index.upsertSelector(subject, policy.selector.ast);
      }
    }
  }

  /** Every policy whose subject selector matches the endpoint. */
  policiesFor(id: EndpointId): Policy[] {
    const out: Policy[] = [];
    for (const selector of this.index.selectorsMatching(id)) {
      const group = this.#bySubject.get(selector);
      if (group === undefined) continue; // a set's selector
      for (const pid of group) out.push(this.#policies.get(pid)!);
    }
    return out;
  }

  private markSelected(subject: string): void {
    for (const ep of this.index.endpointsMatching(subject)) {
      this.listener.onEndpointDirty(ep);
    }
  }
}

function placementChanged(a: Policy, b: Policy): boolean {
  return (
    a.selector.key !== b.selector.key ||
    a.tier !== b.tier ||
    a.order !== b.order ||
    a.types.join() !== b.types.join()
  );
}
