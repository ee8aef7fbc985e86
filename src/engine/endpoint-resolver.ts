// Per local endpoint and direction: the ordered tiers, each with its ordered policies. Also the
// reference count that makes a policy active while some endpoint points at it.

import type { Direction, Endpoint, HostStage, Policy } from "../policy/index.ts";
import { BUILTIN_TIERS, byOrderThenName, policySortKey, type TierSpec } from "../policy/index.ts";
import { sameEndpoint, tierLists } from "./equality.ts";
import { type HostInterfaces, hostBinding, sameInterfaces } from "./host-binding.ts";
import type { PolicyMatcher } from "./policy-matcher.ts";
import { policyId } from "./rules.ts";
import type { DpEndpoint, DpTierRef, EndpointId, PolicyId } from "./types.ts";
import { endpointShape } from "./workload-interface.ts";

export interface PolicyReferenceListener {
  onPolicyReferenced(id: PolicyId): void;
  onPolicyUnreferenced(id: PolicyId): void;
}

export interface EndpointListener {
  onEndpointUpdate(id: EndpointId, endpoint: DpEndpoint | undefined): void;
}

export class EndpointResolver {
  readonly #endpoints = new Map<EndpointId, Endpoint>();
  readonly #resolved = new Map<EndpointId, DpEndpoint>();
  readonly #dirty = new Set<EndpointId>();
  readonly #userTiers = new Map<string, TierSpec>();
  readonly #tiers = new Map<string, TierSpec>();
  readonly #policyRefs = new Map<PolicyId, number>();
  /** Interfaces a CNI plugin reported for pods, in place of the derived name. */
  readonly #interfaces = new Map<EndpointId, string>();
  /** The node's interfaces and their addresses, which bind host endpoints found by address. */
  #hostInterfaces: HostInterfaces = new Map();

  constructor(
    private readonly matcher: PolicyMatcher,
    private readonly policies: PolicyReferenceListener,
    private readonly output: EndpointListener,
    private readonly podInterfacePrefix: string,
  ) {
    this.rebuildTiers();
  }

  markDirty(id: EndpointId): void {
    if (this.#endpoints.has(id) || this.#resolved.has(id)) this.#dirty.add(id);
  }

  upsertEndpoint(id: EndpointId, endpoint: Endpoint | undefined): void {
    if (endpoint) this.#endpoints.set(id, endpoint);
    else this.#endpoints.delete(id);
    this.#dirty.add(id);
  }

  /** The node-side interface a CNI plugin reported for a pod; undefined: back to the derived one. */
  setInterface(id: EndpointId, name: string | undefined): void {
    if (name === undefined) this.#interfaces.delete(id);
    else this.#interfaces.set(id, name);
    this.markDirty(id);
  }

  /** The node's interfaces changed: host endpoints bound by their addresses are resolved again. */
  setHostInterfaces(interfaces: HostInterfaces): void {
    if (sameInterfaces(this.#hostInterfaces, interfaces)) return;
    this.#hostInterfaces = interfaces;
    for (const [id, ep] of this.#endpoints)
      if (ep.kind === "HostEndpoint" && ep.interfaceName === undefined) this.#dirty.add(id);
  }

  upsertTier(name: string, tier: TierSpec | undefined): void {
    if (tier) this.#userTiers.set(name, tier);
    else this.#userTiers.delete(name);
    this.rebuildTiers();
    // Tier edits are rare and may reorder everything: re-resolve every endpoint.
    for (const id of this.#endpoints.keys()) this.#dirty.add(id);
  }

  /** Re-resolves dirty endpoints; reports changed ones and policy reference transitions. */
  flush(): void {
    for (const id of this.#dirty) {
      const ep = this.#endpoints.get(id);
      const before = this.#resolved.get(id);
      const after = ep ? this.resolve(id, ep) : undefined;
      if (before && after && sameEndpoint(before, after)) continue;
      if (after) this.#resolved.set(id, after);
      else this.#resolved.delete(id);
      // Counted per place an endpoint lists a policy (a policy in both directions twice), the
      // same way up and down, so no set of its distinct policies is built per endpoint.
      if (after) for (const list of tierLists(after)) this.refAll(list, +1);
      if (before) for (const list of tierLists(before)) this.refAll(list, -1);
      this.output.onEndpointUpdate(id, after);
    }
    this.#dirty.clear();
  }

  private refAll(tiers: readonly DpTierRef[], delta: number): void {
    for (const t of tiers) for (const p of t.policies) this.ref(p, delta);
  }

  private ref(id: PolicyId, delta: number): void {
    const n = (this.#policyRefs.get(id) ?? 0) + delta;
    if (n === 0) {
      this.#policyRefs.delete(id);
      this.policies.onPolicyUnreferenced(id);
    } else {
      this.#policyRefs.set(id, n);
      if (n === 1 && delta > 0) this.policies.onPolicyReferenced(id);
    }
  }

  private rebuildTiers(): void {
    this.#tiers.clear();
    for (const t of this.#userTiers.values()) this.#tiers.set(t.name, t);
    for (const t of BUILTIN_TIERS) {
      const user = this.#userTiers.get(t.name);
      this.#tiers.set(t.name, user ? { ...t, defaultAction: user.defaultAction } : t);
    }
  }

  private resolve(id: EndpointId, ep: Endpoint): DpEndpoint {
    const selecting = this.matcher.policiesFor(id).filter((p) => this.#tiers.has(p.tier));
    const normal = selecting.filter((p) => p.stage === undefined);
    const shape = endpointShape(ep, this.podInterfacePrefix);
    const reported = shape.kind === "workload" ? this.#interfaces.get(id) : undefined;
    const base = {
      id,
      ...shape,
      ...(reported ? { interfaceName: reported } : {}),
      ingress: this.tiers(normal, "ingress", false),
      egress: this.tiers(normal, "egress", false),
    };
    // Stage policies apply to host endpoints only (as in Felix), on their interfaces.
    if (ep.kind !== "HostEndpoint") return base;
    const staged = (stage: HostStage) => selecting.filter((p) => p.stage === stage);
    const forward = normal.filter((p) => p.applyOnForward === true);
    return {
      ...base,
      hostStages: {
        interfaces: hostBinding(ep.interfaceName, shape.addresses, this.#hostInterfaces),
        untracked: {
          ingress: this.tiers(staged("untracked"), "ingress", true),
          egress: this.tiers(staged("untracked"), "egress", true),
        },
        preDNAT: this.tiers(staged("preDNAT"), "ingress", true),
        forward: {
          ingress: this.tiers(forward, "ingress", false),
          egress: this.tiers(forward, "egress", false),
        },
      },
    };
  }

  /** Tiers in order, each with its policies in order; stage tiers end in Pass (Felix). */
  private tiers(policies: readonly Policy[], d: Direction, pass: boolean): DpTierRef[] {
    const byTier = new Map<string, Placed[]>();
    for (const p of policies) {
      if (!p.types.includes(d)) continue;
      const list = byTier.get(p.tier);
      if (list) list.push(placed(p));
      else byTier.set(p.tier, [placed(p)]);
    }
    return [...byTier.keys()]
      .map((name) => this.#tiers.get(name)!)
      .sort(byOrderThenName)
      .map((tier) => ({
        name: tier.name,
        defaultAction: pass ? "Pass" : tier.defaultAction,
        policies: byTier
          .get(tier.name)!
          .sort(byPlacement)
          .map((p) => p.id),
      }));
  }
}

/** A policy's sort key and id, computed once per policy rather than per endpoint selecting it. */
interface Placed {
  readonly key: { order?: number; name: string };
  readonly id: PolicyId;
}

// Compiled policies are immutable: a new version is a new object.
const placements = new WeakMap<Policy, Placed>();

function placed(p: Policy): Placed {
  let out = placements.get(p);
  if (out === undefined) {
    out = { key: policySortKey(p), id: policyId(p.ref) };
    placements.set(p, out);
  }
  return out;
}

function byPlacement(a: Placed, b: Placed): number {
  return byOrderThenName(a.key, b.key);
}
