// What one resource means to the policy layer: an entity (workload, host, network set), a
// compiled policy, a staged policy, a tier, a node, a namespace, or nothing. Shared by the
// from-scratch world and the incremental engine, so both read resources the same way.
import {
  NAMESPACE_NAME_LABEL,
  type Pod,
  type Resource,
  type Service,
  type StagedGlobalNetworkPolicy,
  type StagedKubernetesNetworkPolicy,
  type StagedNetworkPolicy,
} from "../model/index.ts";
import type { Address } from "../net/cidr.ts";
import type { Labels } from "../selector/index.ts";
import { compileAdminPolicy } from "./compile/admin.ts";
import { compileCalicoPolicy } from "./compile/calico.ts";
import { compileClusterNetworkPolicy } from "./compile/cluster.ts";
import { compileKubernetesPolicy } from "./compile/kubernetes.ts";
import type { TierSpec } from "./compile/tiers.ts";
import {
  hostEndpoint,
  networkSet,
  node,
  podEndpoint,
  templateEndpoint,
  workloadEndpoint,
} from "./endpoints.ts";
import type { SelectorCache } from "./scope.ts";
import { type ServiceLookup, serviceKey, sliceEndpoints, sliceService } from "./services.ts";
import type { Endpoint, Node, Policy, PolicyRef, SliceEndpoints } from "./types.ts";

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

export type Derived =
  | { readonly role: "namespace"; readonly name: string; readonly labels: Labels }
  | {
      readonly role: "serviceAccount";
      readonly namespace: string;
      readonly name: string;
      readonly labels: Labels;
    }
  | { readonly role: "node"; readonly node: Node }
  | { readonly role: "entity"; readonly entity: Endpoint }
  | { readonly role: "policy"; readonly policy: Policy }
  | { readonly role: "staged"; readonly staged: StagedChange }
  | { readonly role: "tier"; readonly tier: TierSpec }
  | { readonly role: "service"; readonly key: string; readonly service: Service }
  | { readonly role: "slice"; readonly key: string; readonly slice: SliceEndpoints }
  | { readonly role: "ignored" };

export interface DeriveContext {
  readonly cache: SelectorCache;
  namespaceLabels(namespace: string): Labels | undefined;
  /** A ServiceAccount object's labels (Calico's serviceAccountSelector matches them). */
  serviceAccountLabels(namespace: string, name: string): Labels | undefined;
  nodeAddress(node: string): Address | undefined;
  /** A Service as rules naming it see it (policies are compiled again when it changes). */
  service: ServiceLookup;
}

function isFinished(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

// One per context, not a closure per resource: tsx names every closure it creates (keepNames).
const namespaceLabelsOf = new WeakMap<DeriveContext, (ns: string) => Labels>();

// A namespace without its Namespace object (a `kubectl get pods -A` dump) still has the label
// the API server sets on every namespace; validation warns about it.
function namespaceLabelLookup(ctx: DeriveContext): (ns: string) => Labels {
  let lookup = namespaceLabelsOf.get(ctx);
  if (lookup === undefined) {
    lookup = (ns) => ctx.namespaceLabels(ns) ?? { [NAMESPACE_NAME_LABEL]: ns };
    namespaceLabelsOf.set(ctx, lookup);
  }
  return lookup;
}

export function deriveResource(r: Resource, ctx: DeriveContext): Derived {
  const nsLabels = namespaceLabelLookup(ctx);
  switch (r.kind) {
    case "Namespace":
      // The model's schema adds the name label the API server sets.
      return { role: "namespace", name: r.metadata.name, labels: r.metadata.labels };
    case "Node":
      return { role: "node", node: node(r) };
    case "Pod": {
      // Kubernetes and Calico ignore finished pods: their address may already be reused.
      if (isFinished(r)) return { role: "ignored" };
      const host = r.spec.nodeName ? ctx.nodeAddress(r.spec.nodeName) : undefined;
      return {
        role: "entity",
        entity: podEndpoint(r, nsLabels, host, ctx.serviceAccountLabels),
      };
    }
    case "Deployment":
    case "ReplicaSet":
    case "StatefulSet":
    case "DaemonSet":
    case "Job":
    case "CronJob":
      return { role: "entity", entity: templateEndpoint(r, nsLabels, ctx.serviceAccountLabels) };
    case "NetworkPolicy":
      return {
        role: "policy",
        policy:
          r.apiVersion === "networking.k8s.io/v1"
            ? compileKubernetesPolicy(r, ctx.cache)
            : compileCalicoPolicy(r, ctx.cache, ctx.service),
      };
    case "AdminNetworkPolicy":
    case "BaselineAdminNetworkPolicy":
      return { role: "policy", policy: compileAdminPolicy(r, ctx.cache) };
    case "ClusterNetworkPolicy":
      return { role: "policy", policy: compileClusterNetworkPolicy(r, ctx.cache) };
    case "GlobalNetworkPolicy":
      return { role: "policy", policy: compileCalicoPolicy(r, ctx.cache, ctx.service) };
    case "StagedNetworkPolicy":
    case "StagedGlobalNetworkPolicy":
    case "StagedKubernetesNetworkPolicy":
      return { role: "staged", staged: stagedChange(r, ctx) };
    case "Tier":
      return {
        role: "tier",
        tier: {
          name: r.metadata.name,
          ...(r.spec.order !== undefined ? { order: r.spec.order } : {}),
          defaultAction: r.spec.defaultAction ?? "Deny",
        },
      };
    case "NetworkSet":
    case "GlobalNetworkSet":
      return { role: "entity", entity: networkSet(r, nsLabels) };
    case "WorkloadEndpoint":
      return { role: "entity", entity: workloadEndpoint(r, nsLabels, ctx.serviceAccountLabels) };
    case "ServiceAccount":
      return {
        role: "serviceAccount",
        namespace: r.metadata.namespace,
        name: r.metadata.name,
        labels: r.metadata.labels ?? {},
      };
    case "Service":
      return {
        role: "service",
        key: serviceKey(r.metadata.namespace, r.metadata.name),
        service: r,
      };
    case "EndpointSlice": {
      // A slice no Service claims (no service-name label) is the endpoints of nothing.
      const service = sliceService(r);
      if (service === undefined) return { role: "ignored" };
      const key = serviceKey(r.metadata.namespace, r.metadata.name);
      return { role: "slice", key, slice: sliceEndpoints(r, service) };
    }
    case "HostEndpoint":
      return { role: "entity", entity: hostEndpoint(r) };
    case "GlobalAlert":
      // Alerts belong to the flows stage.
      return { role: "ignored" };
  }
}

type StagedPolicy = StagedNetworkPolicy | StagedGlobalNetworkPolicy | StagedKubernetesNetworkPolicy;

/** The staged object as the policy it would enforce, under its staged kind. */
function stagedPolicy(r: StagedPolicy, ctx: DeriveContext): Policy {
  let policy: Policy;
  if (r.kind === "StagedKubernetesNetworkPolicy") {
    const { stagedAction: _, ...spec } = r.spec;
    policy = compileKubernetesPolicy({ metadata: r.metadata, spec }, ctx.cache);
  } else if (r.kind === "StagedGlobalNetworkPolicy") {
    const { stagedAction: _, ...spec } = r.spec;
    const kind = "GlobalNetworkPolicy";
    policy = compileCalicoPolicy({ kind, metadata: r.metadata, spec }, ctx.cache, ctx.service);
  } else {
    const { stagedAction: _, ...spec } = r.spec;
    const source = { kind: "NetworkPolicy" as const, metadata: r.metadata, spec };
    policy = compileCalicoPolicy(source, ctx.cache, ctx.service);
  }
  return { ...policy, ref: { ...policy.ref, kind: r.kind } };
}

function stagedChange(r: StagedPolicy, ctx: DeriveContext): StagedChange {
  const policy = stagedPolicy(r, ctx);
  const target: PolicyRef = {
    ...policy.ref,
    kind:
      r.kind === "StagedKubernetesNetworkPolicy"
        ? "KubernetesNetworkPolicy"
        : r.kind === "StagedGlobalNetworkPolicy"
          ? "GlobalNetworkPolicy"
          : "NetworkPolicy",
  };
  return r.spec.stagedAction === "Delete"
    ? { target, action: "Delete" }
    : { target, action: "Set", policy };
}
