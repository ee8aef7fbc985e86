// First stage: resources in, domain objects out. Keeps the latest object per key and turns
// each change into updates of endpoints, network sets, nodes, compiled policies and tiers.
// A namespace relabel re-derives only the endpoints and network sets of that namespace; a Service
// changing (or gaining its first or losing its last EndpointSlice) re-derives the policies naming it.
import {
  type ResourceEvent as ModelResourceEvent,
  type Resource,
  resourceKey,
  type Service,
} from "../model/index.ts";
import type { Endpoint, Node, Policy, SliceEndpoints, TierSpec } from "../policy/index.ts";
import {
  type DeriveContext,
  deriveResource,
  SelectorCache,
  serviceKey,
  servicesOf,
  serviceView,
} from "../policy/index.ts";
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
  /** EndpointSlices of Services (the members of sets of rules naming a Service). */
  onSliceUpdate(id: string, slice: SliceEndpoints | undefined): void;
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
  | { readonly role: "service"; readonly key: string }
  /** `id` is the slice's key with its Service's, so a slice moving to another Service is two. */
  | { readonly role: "slice"; readonly id: string; readonly service: string }
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
  if (a.role === "service" && b.role === "service") return a.key === b.key;
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
  readonly #services = new Map<string, Service>();
  /** Service key -> ids of its EndpointSlices: with any, they give its endpoints. */
  readonly #slices = new Map<string, Set<string>>();
  /** Service key -> keys of the policies naming it, compiled again when it changes. */
  readonly #dependents = new Map<string, Set<string>>();
  readonly #namedBy = new Map<string, readonly string[]>();
  readonly #ctx: DeriveContext = {
    cache: new SelectorCache(),
    namespaceLabels: (ns) => this.#namespaces.get(ns),
    serviceAccountLabels: (ns, name) => this.#accounts.get(`${ns}/${name}`),
    nodeAddress: (name) => this.#nodes.get(name)?.addresses[0],
    service: (ns, name) => {
      const key = serviceKey(ns, name);
      const s = this.#services.get(key);
      return s && serviceView(s, (this.#slices.get(key)?.size ?? 0) > 0);
    },
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
    const now = this.contribute(r, key);
    if (previous && !sameContribution(previous, now)) this.retract(previous, key);
    this.#contributions.set(key, now);
  }

  private remove(key: string): void {
    const previous = this.#contributions.get(key);
    const r = this.#resources.get(key);
    this.#resources.delete(key);
    this.#contributions.delete(key);
    if (r?.metadata.namespace !== undefined)
      this.#byNamespace.get(r.metadata.namespace)?.delete(key);
    if (previous) this.retract(previous, key);
  }

  private retract(c: Contribution, key: string): void {
    switch (c.role) {
      case "entity":
        this.listener.onEntityUpdate(c.id, undefined);
        break;
      case "policy":
        this.dependOn(key, []);
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
      case "service":
        this.#services.delete(c.key);
        this.rederiveDependents(c.key);
        break;
      case "slice": {
        const ids = this.#slices.get(c.service)!;
        ids.delete(c.id);
        this.listener.onSliceUpdate(c.id, undefined);
        if (ids.size === 0) {
          this.#slices.delete(c.service);
          this.rederiveDependents(c.service);
        }
        break;
      }
      case "none":
        break;
    }
  }

  /** Derives the resource and passes the result on; staged policies are never enforced. */
  private contribute(r: Resource, key: string): Contribution {
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
        this.dependOn(key, servicesOf(d.policy));
        this.listener.onPolicyUpdate(id, d.policy);
        return { role: "policy", id };
      }
      case "service":
        this.#services.set(d.key, d.service);
        this.rederiveDependents(d.key);
        return { role: "service", key: d.key };
      case "slice": {
        const id = `${d.slice.service}|${d.key}`;
        const ids = getOrCreate(this.#slices, d.slice.service, () => new Set<string>());
        const first = ids.size === 0;
        ids.add(id);
        this.listener.onSliceUpdate(id, d.slice);
        if (first) this.rederiveDependents(d.slice.service);
        return { role: "slice", id, service: d.slice.service };
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
      if (r && this.#contributions.get(key)?.role === "entity") this.contribute(r, key);
    }
  }

  /** Records which Services a policy names, so it is compiled again when one changes. */
  private dependOn(policyKey: string, services: readonly string[]): void {
    for (const s of this.#namedBy.get(policyKey) ?? []) this.#dependents.get(s)?.delete(policyKey);
    if (services.length === 0) this.#namedBy.delete(policyKey);
    else this.#namedBy.set(policyKey, services);
    for (const s of services)
      getOrCreate(this.#dependents, s, () => new Set<string>()).add(policyKey);
  }

  private rederiveDependents(service: string): void {
    for (const key of [...(this.#dependents.get(service) ?? [])]) {
      const r = this.#resources.get(key);
      if (r) this.contribute(r, key);
    }
  }
}
