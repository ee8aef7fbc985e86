// First stage: resources in, domain objects out. Keeps the latest object per key and turns
// each change into updates of endpoints, network sets, nodes, compiled policies and tiers.
// A namespace relabel re-derives only the endpoints and network sets of that namespace.
import { type AdminNetworkPolicyInput, compileAdminPolicy } from "../policy/compile/admin.ts";
import { type CalicoPolicyInput, compileCalicoPolicy } from "../policy/compile/calico.ts";
import {
  compileKubernetesPolicy,
  type K8sNetworkPolicyInput,
} from "../policy/compile/kubernetes.ts";
import type { TierSpec } from "../policy/compile/tiers.ts";
import {
  type HostEndpointInput,
  hostEndpoint,
  type NetworkSetInput,
  type NodeInput,
  networkSet,
  node,
  type PodInput,
  podEndpoint,
  type WorkloadEndpointInput,
  workloadEndpoint,
} from "../policy/endpoints.ts";
import { SelectorCache } from "../policy/scope.ts";
import type { Endpoint, Node, Policy } from "../policy/types.ts";
import type { ResourceLike } from "../policy/world.ts";
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

export type ResourceEvent =
  | { readonly type: "upsert"; readonly resource: ResourceLike; readonly revision?: number }
  | { readonly type: "delete"; readonly key: string; readonly revision?: number };

export function keyOf(r: Pick<ResourceLike, "apiVersion" | "kind" | "metadata">): string {
  const slash = r.apiVersion.indexOf("/");
  const group = slash < 0 ? "core" : r.apiVersion.slice(0, slash);
  return `${group === "projectcalico.org" ? "microseg.io" : group}/${r.kind}/${r.metadata.namespace ?? ""}/${r.metadata.name}`;
}

type Derived =
  | { readonly role: "entity"; readonly id: EndpointId }
  | { readonly role: "policy"; readonly id: PolicyId }
  | { readonly role: "tier"; readonly name: string }
  | { readonly role: "node"; readonly name: string }
  | { readonly role: "namespace"; readonly name: string }
  | { readonly role: "ignored" };

/** Network sets get ids that cannot clash with workloads of the same name. */
const entityId = (e: Endpoint): EndpointId =>
  (e.kind === "NetworkSet" || e.kind === "GlobalNetworkSet"
    ? `${e.kind}:${e.id}`
    : e.id) as EndpointId;

export class InputStage {
  readonly #resources = new Map<string, ResourceLike>();
  readonly #derived = new Map<string, Derived>();
  readonly #namespaces = new Map<string, Labels>();
  /** Namespace name -> keys of the namespaced resources whose entities depend on its labels. */
  readonly #byNamespace = new Map<string, Set<string>>();
  readonly #nodeAddresses = new Map<string, Node>();
  readonly #cache = new SelectorCache();
  lastRevision = 0;

  constructor(private readonly listener: InputListener) {}

  apply(event: ResourceEvent): void {
    if (event.revision !== undefined)
      this.lastRevision = Math.max(this.lastRevision, event.revision);
    if (event.type === "upsert") this.upsert(event.resource);
    else this.remove(event.key);
  }

  resources(): IterableIterator<ResourceLike> {
    return this.#resources.values();
  }

  private upsert(r: ResourceLike): void {
    const key = keyOf(r);
    const previous = this.#derived.get(key);
    this.#resources.set(key, r);
    const derived = this.derive(key, r);
    // A resource renamed into another role (impossible by key) or an entity whose id changed.
    if (previous && JSON.stringify(previous) !== JSON.stringify(derived)) this.retract(previous);
    this.#derived.set(key, derived);
  }

  private remove(key: string): void {
    const previous = this.#derived.get(key);
    const r = this.#resources.get(key);
    this.#resources.delete(key);
    this.#derived.delete(key);
    if (r?.metadata.namespace !== undefined)
      this.#byNamespace.get(r.metadata.namespace)?.delete(key);
    if (previous) this.retract(previous);
  }

  private retract(d: Derived): void {
    switch (d.role) {
      case "entity":
        this.listener.onEntityUpdate(d.id, undefined);
        break;
      case "policy":
        this.listener.onPolicyUpdate(d.id, undefined);
        break;
      case "tier":
        this.listener.onTierUpdate(d.name, undefined);
        break;
      case "node":
        this.#nodeAddresses.delete(d.name);
        this.listener.onNodeUpdate(d.name, undefined);
        break;
      case "namespace":
        this.#namespaces.delete(d.name);
        this.rederiveNamespace(d.name);
        break;
      case "ignored":
        break;
    }
  }

  private nsLabels = (ns: string): Labels | undefined => this.#namespaces.get(ns);

  private derive(key: string, r: ResourceLike): Derived {
    const group = r.apiVersion.includes("/") ? r.apiVersion.split("/")[0]! : "";
    if (r.metadata.namespace !== undefined) {
      getOrCreate(this.#byNamespace, r.metadata.namespace, () => new Set<string>()).add(key);
    }
    if (group === "") {
      switch (r.kind) {
        case "Namespace": {
          const labels = {
            "kubernetes.io/metadata.name": r.metadata.name,
            ...(r.metadata.labels ?? {}),
          };
          const old = this.#namespaces.get(r.metadata.name);
          this.#namespaces.set(r.metadata.name, labels);
          if (!old || JSON.stringify(old) !== JSON.stringify(labels))
            this.rederiveNamespace(r.metadata.name);
          return { role: "namespace", name: r.metadata.name };
        }
        case "Pod": {
          const pod = r as PodInput;
          const host = pod.spec?.nodeName
            ? this.#nodeAddresses.get(pod.spec.nodeName)?.addresses[0]
            : undefined;
          return this.entity(podEndpoint(pod, this.nsLabels, host));
        }
        case "Node": {
          const n = node(r as NodeInput);
          this.#nodeAddresses.set(n.name, n);
          this.listener.onNodeUpdate(n.name, n);
          return { role: "node", name: n.name };
        }
        default:
          return { role: "ignored" };
      }
    }
    if (group === "networking.k8s.io" && r.kind === "NetworkPolicy") {
      return this.policy(compileKubernetesPolicy(r as K8sNetworkPolicyInput, this.#cache));
    }
    if (group === "policy.networking.k8s.io") {
      return this.policy(compileAdminPolicy(r as AdminNetworkPolicyInput, this.#cache));
    }
    switch (r.kind) {
      case "NetworkPolicy":
      case "GlobalNetworkPolicy":
        return this.policy(compileCalicoPolicy(r as CalicoPolicyInput, this.#cache));
      case "Tier": {
        const spec = (r.spec ?? {}) as { order?: number | null; defaultAction?: string | null };
        const tier: TierSpec = {
          name: r.metadata.name,
          ...(typeof spec.order === "number" ? { order: spec.order } : {}),
          defaultAction: spec.defaultAction === "Pass" ? "Pass" : "Deny",
        };
        this.listener.onTierUpdate(tier.name, tier);
        return { role: "tier", name: tier.name };
      }
      case "NetworkSet":
      case "GlobalNetworkSet":
        return this.entity(networkSet(r as NetworkSetInput, this.nsLabels));
      case "WorkloadEndpoint":
        return this.entity(workloadEndpoint(r as WorkloadEndpointInput, this.nsLabels));
      case "HostEndpoint":
        return this.entity(hostEndpoint(r as HostEndpointInput));
      default:
        // Staged policies are never enforced; alerts belong to the flows stage.
        return { role: "ignored" };
    }
  }

  private entity(e: Endpoint): Derived {
    const id = entityId(e);
    this.listener.onEntityUpdate(id, e);
    return { role: "entity", id };
  }

  private policy(p: Policy): Derived {
    const id = policyId(p.ref);
    this.listener.onPolicyUpdate(id, p);
    return { role: "policy", id };
  }

  private rederiveNamespace(ns: string): void {
    for (const key of this.#byNamespace.get(ns) ?? []) {
      const r = this.#resources.get(key);
      const d = this.#derived.get(key);
      if (r && d?.role === "entity") this.derive(key, r);
    }
  }
}
