// First stage: resources in, domain objects out. Keeps the latest object per key and turns
// each change into updates of endpoints, network sets, nodes, compiled policies and tiers.
// A namespace relabel re-derives only the endpoints and network sets of that namespace.
import {
  type ResourceEvent as ModelResourceEvent,
  type Resource,
  resourceKey,
} from "../model/index.ts";
import type { Endpoint, Node, Policy, TierSpec } from "../policy/index.ts";
import { type DeriveContext, deriveResource, SelectorCache } from "../policy/index.ts";
import type { Labels } from "../selector/index.ts";
import { getOrCreate } from "../util/maps.ts";
import { policyId } from "./rules.ts";
import type { EndpointId, PolicyId } from "./types.ts";

export interface InputListener {
  /** Workloads and host endpoints (`entity.kind` tells), and network sets. */
  onEntityUpdate(id: EndpointId, entity: Endpoint | undefined): void;
  onPolicyUpdate(id: PolicyId, policy: Policy | undefined): void;
  onTierUpdate(name: string, tier: TierSpec | undefined): void;
  onNodeUpdate(name: string, node: Node | undefined): void;
}

export type ResourceEvent = ModelResourceEvent;

/** What a stored resource currently contributes downstream, so a delete can retract it. */
type Contribution =
  | { readonly role: "entity"; readonly id: EndpointId }
  | { readonly role: "policy"; readonly id: PolicyId }
  | { readonly role: "tier"; readonly name: string }
  | { readonly role: "node"; readonly name: string }
  | { readonly role: "namespace"; readonly name: string }
  | { readonly role: "serviceAccount"; readonly namespace: string; readonly name: string }
  | { readonly role: "none" };

/** Network sets get ids that cannot clash with workloads of the same name. */
const entityId = (e: Endpoint): EndpointId =>
  (e.kind === "NetworkSet" || e.kind === "GlobalNetworkSet"
    ? `${e.kind}:${e.id}`
    : e.id) as EndpointId;

function sameContribution(a: Contribution, b: Contribution): boolean {
  if (a.role !== b.role) return false;
  if (a.role === "serviceAccount" && b.role === "serviceAccount")
    return a.namespace === b.namespace && a.name === b.name;
  if ("id" in a && "id" in b) return a.id === b.id;
  if ("name" in a && "name" in b) return a.name === b.name;
  return true;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export class InputStage {
  readonly #resources = new Map<string, Resource>();
  readonly #contributions = new Map<string, Contribution>();
  readonly #namespaces = new Map<string, Labels>();
  /** Namespace name -> keys of the namespaced resources whose entities depend on its labels. */
  readonly #byNamespace = new Map<string, Set<string>>();
  readonly #nodes = new Map<string, Node>();
  /** `namespace/name` of each ServiceAccount object -> its labels. */
  readonly #accounts = new Map<string, Labels>();
  readonly #ctx: DeriveContext = {
    cache: new SelectorCache(),
    namespaceLabels: (ns) => this.#namespaces.get(ns),
    serviceAccountLabels: (ns, name) => this.#accounts.get(`${ns}/${name}`),
    nodeAddress: (name) => this.#nodes.get(name)?.addresses[0],
  };
  constructor(private readonly listener: InputListener) {}

  onEvent(event: ResourceEvent): void {
    if (event.type === "upsert") this.upsert(event.resource);
    else this.remove(event.key);
  }

  private upsert(r: Resource): void {
    const key = resourceKey(r);
    const previous = this.#contributions.get(key);
    this.#resources.set(key, r);
    if (r.metadata.namespace !== undefined) {
      getOrCreate(this.#byNamespace, r.metadata.namespace, () => new Set<string>()).add(key);
    }
    const now = this.contribute(r);
    if (previous && !sameContribution(previous, now)) this.retract(previous);
    this.#contributions.set(key, now);
  }

  private remove(key: string): void {
    const previous = this.#contributions.get(key);
    const r = this.#resources.get(key);
    this.#resources.delete(key);
    this.#contributions.delete(key);
    if (r?.metadata.namespace !== undefined)
      this.#byNamespace.get(r.metadata.namespace)?.delete(key);
    if (previous) this.retract(previous);
  }

  private retract(c: Contribution): void {
    switch (c.role) {
      case "entity":
        this.listener.onEntityUpdate(c.id, undefined);
        break;
      case "policy":
        this.listener.onPolicyUpdate(c.id, undefined);
        break;
      case "tier":
        this.listener.onTierUpdate(c.name, undefined);
        break;
      case "node":
        this.#nodes.delete(c.name);
        this.listener.onNodeUpdate(c.name, undefined);
        break;
      case "namespace":
        this.#namespaces.delete(c.name);
        this.rederiveNamespace(c.name);
        break;
      case "serviceAccount":
        this.#accounts.delete(`${c.namespace}/${c.name}`);
        this.rederiveNamespace(c.namespace);
        break;
      case "none":
        break;
    }
  }

  /** Derives the resource and passes the result on; staged policies are never enforced. */
  private contribute(r: Resource): Contribution {
    const d = deriveResource(r, this.#ctx);
    switch (d.role) {
      case "namespace": {
        const old = this.#namespaces.get(d.name);
        this.#namespaces.set(d.name, d.labels);
        if (!old || !sameLabels(old, d.labels)) this.rederiveNamespace(d.name);
        return { role: "namespace", name: d.name };
      }
      case "serviceAccount": {
        // Its pods' labels carry the account's: re-derive the namespace's entities on change.
        const key = `${d.namespace}/${d.name}`;
        const old = this.#accounts.get(key);
        this.#accounts.set(key, d.labels);
        if (!old || !sameLabels(old, d.labels)) this.rederiveNamespace(d.namespace);
        return { role: "serviceAccount", namespace: d.namespace, name: d.name };
      }
      case "node":
        this.#nodes.set(d.node.name, d.node);
        this.listener.onNodeUpdate(d.node.name, d.node);
        return { role: "node", name: d.node.name };
      case "entity": {
        const id = entityId(d.entity);
        this.listener.onEntityUpdate(id, d.entity);
        return { role: "entity", id };
      }
      case "policy": {
        const id = policyId(d.policy.ref);
        this.listener.onPolicyUpdate(id, d.policy);
        return { role: "policy", id };
      }
      case "tier":
        this.listener.onTierUpdate(d.tier.name, d.tier);
        return { role: "tier", name: d.tier.name };
      case "staged":
      case "ignored":
        return { role: "none" };
    }
  }

  private rederiveNamespace(ns: string): void {
    for (const key of this.#byNamespace.get(ns) ?? []) {
      const r = this.#resources.get(key);
      if (r && this.#contributions.get(key)?.role === "entity") this.contribute(r);
    }
  }
}
