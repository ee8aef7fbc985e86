// What one resource means to the policy layer: an entity (workload, host, network set), a
// compiled policy, a staged policy, a tier, a node, a namespace, or nothing. Shared by the
// from-scratch world and the incremental engine, so both read resources the same way.
import type { Address } from "../net/cidr.ts";
import type { Labels } from "../selector/index.ts";
import { type AdminNetworkPolicyInput, compileAdminPolicy } from "./compile/admin.ts";
import { type CalicoPolicyInput, compileCalicoPolicy, policyName } from "./compile/calico.ts";
import { compileKubernetesPolicy, type K8sNetworkPolicyInput } from "./compile/kubernetes.ts";
import { DEFAULT_TIER, type TierSpec } from "./compile/tiers.ts";
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
} from "./endpoints.ts";
import type { SelectorCache } from "./scope.ts";
import type { Endpoint, Node, Policy, PolicyKind, PolicyRef } from "./types.ts";

/** The parts of a resource the policy layer dispatches on; the model's schemas give the rest. */
export interface ResourceLike {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    name: string;
    namespace?: string | undefined;
    labels?: Labels | null | undefined;
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

/**
 * A staged policy previews a change to the enforced policy it names (same kind without
 * "Staged", same namespace and name): `Set` (the default) adds or replaces it, `Delete` removes
 * it. Staged policies are never enforced.
 */
export interface StagedChange {
  readonly target: PolicyRef;
  readonly action: "Set" | "Delete";
  /** The policy as it would be enforced, under its staged kind; absent for Delete. */
  readonly policy?: Policy;
}

interface StagedSpec {
  stagedAction?: string | null;
  tier?: string | null;
}

export type Derived =
  | { readonly role: "namespace"; readonly name: string; readonly labels: Labels }
  | { readonly role: "node"; readonly node: Node }
  | { readonly role: "entity"; readonly entity: Endpoint }
  | { readonly role: "policy"; readonly policy: Policy }
  | { readonly role: "staged"; readonly staged: StagedChange }
  | { readonly role: "tier"; readonly tier: TierSpec }
  | { readonly role: "ignored" };

export interface DeriveContext {
  readonly cache: SelectorCache;
  namespaceLabels(namespace: string): Labels | undefined;
  nodeAddress(node: string): Address | undefined;
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

function isFinished(pod: PodInput): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

export function apiGroup(r: Pick<ResourceLike, "apiVersion">): string {
  const slash = r.apiVersion.indexOf("/");
  return slash < 0 ? "" : r.apiVersion.slice(0, slash);
}

export function deriveResource(r: ResourceLike, ctx: DeriveContext): Derived {
  const group = apiGroup(r);
  // A namespace without its Namespace object (a `kubectl get pods -A` dump) still has the label
  // the API server sets on every namespace; validation warns about it.
  const nsLabels = (ns: string) => ctx.namespaceLabels(ns) ?? { [NAMESPACE_NAME_LABEL]: ns };
  if (group === "") {
    switch (r.kind) {
      case "Namespace":
        // The API server adds this label to every namespace; dumps may lack it.
        return {
          role: "namespace",
          name: r.metadata.name,
          labels: { [NAMESPACE_NAME_LABEL]: r.metadata.name, ...(r.metadata.labels ?? {}) },
        };
      case "Node":
        return { role: "node", node: node(r as NodeInput) };
      case "Pod": {
        const pod = r as PodInput;
        // Kubernetes and Calico ignore finished pods: their address may already be reused.
        if (isFinished(pod)) return { role: "ignored" };
        const host = pod.spec?.nodeName ? ctx.nodeAddress(pod.spec.nodeName) : undefined;
        return { role: "entity", entity: podEndpoint(pod, nsLabels, host) };
      }
      default:
        return { role: "ignored" };
    }
  }
  if (group === "networking.k8s.io") {
    if (r.kind !== "NetworkPolicy") return { role: "ignored" };
    return {
      role: "policy",
      policy: compileKubernetesPolicy(r as K8sNetworkPolicyInput, ctx.cache),
    };
  }
  if (group === "policy.networking.k8s.io") {
    return { role: "policy", policy: compileAdminPolicy(r as AdminNetworkPolicyInput, ctx.cache) };
  }
  switch (r.kind) {
    case "NetworkPolicy":
    case "GlobalNetworkPolicy":
      return { role: "policy", policy: compileCalicoPolicy(r as CalicoPolicyInput, ctx.cache) };
    case "StagedNetworkPolicy":
    case "StagedGlobalNetworkPolicy":
    case "StagedKubernetesNetworkPolicy":
      return { role: "staged", staged: stagedChange(r, ctx) };
    case "Tier": {
      const spec = (r.spec ?? {}) as { order?: number | null; defaultAction?: string | null };
      return {
        role: "tier",
        tier: {
          name: r.metadata.name,
          ...(typeof spec.order === "number" ? { order: spec.order } : {}),
          defaultAction: spec.defaultAction === "Pass" ? "Pass" : "Deny",
        },
      };
    }
    case "NetworkSet":
    case "GlobalNetworkSet":
      return { role: "entity", entity: networkSet(r as NetworkSetInput, nsLabels) };
    case "WorkloadEndpoint":
      return { role: "entity", entity: workloadEndpoint(r as WorkloadEndpointInput, nsLabels) };
    case "HostEndpoint":
      return { role: "entity", entity: hostEndpoint(r as HostEndpointInput) };
    default:
      // Alerts belong to the flows stage.
      return { role: "ignored" };
  }
}

function stagedChange(r: ResourceLike, ctx: DeriveContext): StagedChange {
  const { stagedAction, ...spec } = (r.spec ?? {}) as StagedSpec & Record<string, unknown>;
  const action = stagedAction === "Delete" ? "Delete" : "Set";
  const stagedKind = r.kind as PolicyKind;
  const compile = (): Policy => {
    if (r.kind === "StagedKubernetesNetworkPolicy") {
      return compileKubernetesPolicy(
        { metadata: r.metadata, spec } as K8sNetworkPolicyInput,
        ctx.cache,
      );
    }
    const kind = r.kind === "StagedGlobalNetworkPolicy" ? "GlobalNetworkPolicy" : "NetworkPolicy";
    return compileCalicoPolicy(
      { kind, metadata: r.metadata, spec } as CalicoPolicyInput,
      ctx.cache,
    );
  };
  const namespace = r.metadata.namespace ?? "default";
  const target: PolicyRef =
    r.kind === "StagedKubernetesNetworkPolicy"
      ? { kind: "KubernetesNetworkPolicy", namespace, name: r.metadata.name }
      : r.kind === "StagedGlobalNetworkPolicy"
        ? {
            kind: "GlobalNetworkPolicy",
            name: policyName(r.metadata.name, spec.tier ?? DEFAULT_TIER),
          }
        : {
            kind: "NetworkPolicy",
            namespace,
            name: policyName(r.metadata.name, spec.tier ?? DEFAULT_TIER),
          };
  if (action === "Delete") return { target, action };
  const policy = compile();
  return { target, action, policy: { ...policy, ref: { ...policy.ref, kind: stagedKind } } };
}
