// Which policies select which local endpoints. Subject selectors are interned by canonical text
// in a label index over the node's endpoints, so a relabel or a policy edit touches only the
// endpoints whose match actually changes.
import type { Endpoint, Policy } from "../policy/types.ts";
import { LabelIndex } from "../selector/index.ts";
import type { EndpointId, PolicyId } from "./types.ts";

export interface EndpointDirtyListener {
  /** The endpoint's applicable policies (or their order, tier or types) may have changed. */
  onEndpointDirty(id: EndpointId): void;
}

export class PolicyMatcher {
  readonly #policies = new Map<PolicyId, Policy>();
  readonly #bySubject = new Map<string, Set<PolicyId>>();
  readonly #index: LabelIndex<string, EndpointId>;

  constructor(private readonly listener: EndpointDirtyListener) {
    this.#index = new LabelIndex<string, EndpointId>({
      onMatchStarted: (_, ep) => listener.onEndpointDirty(ep),
      onMatchStopped: (_, ep) => listener.onEndpointDirty(ep),
    });
  }

  policy(id: PolicyId): Policy | undefined {
    return this.#policies.get(id);
  }

  upsertEndpoint(id: EndpointId, endpoint: Endpoint): void {
    this.#index.upsertEndpoint(id, endpoint.labels);
  }

  removeEndpoint(id: EndpointId): void {
    this.#index.removeEndpoint(id);
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
      this.markSelected(old.selector.key);
      this.#policies.delete(id);
      const group = this.#bySubject.get(old.selector.key)!;
      group.delete(id);
      if (group.size === 0) {
        this.#bySubject.delete(old.selector.key);
        this.#index.removeSelector(old.selector.key);
      }
    }
    if (policy) {
      this.#policies.set(id, policy);
      const key = policy.selector.key;
      let group = this.#bySubject.get(key);
      if (!group) {
        this.#bySubject.set(key, (group = new Set()));
        this.#index.upsertSelector(key, policy.selector.ast);
      } else this.markSelected(key);
      group.add(id);
    }
  }

  /** Every policy whose subject selector matches the endpoint. */
  policiesFor(id: EndpointId): Policy[] {
    const out: Policy[] = [];
    for (const key of this.#index.selectorsMatching(id)) {
      for (const pid of this.#bySubject.get(key) ?? []) out.push(this.#policies.get(pid)!);
    }
    return out;
  }

  private markSelected(key: string): void {
    for (const ep of this.#index.endpointsMatching(key)) this.listener.onEndpointDirty(ep);
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
