// Every kind this project accepts, in one table: which apiVersion and kind map to which schema,
// whether objects live in a namespace, and the stable key stores use.
import type { z } from "zod";
import {
  type AdminNetworkPolicy,
  AdminNetworkPolicySchema,
  type BaselineAdminNetworkPolicy,
  BaselineAdminNetworkPolicySchema,
} from "./admin-network-policy.ts";
import {
  APPS_V1,
  BATCH_V1,
  CALICO_V3,
  CORE_V1,
  MICROSEG_V1,
  NETWORKING_V1,
  POLICY_V1ALPHA1,
} from "./api-versions.ts";
import {
  type GlobalNetworkSet,
  GlobalNetworkSetSchema,
  type HostEndpoint,
  HostEndpointSchema,
  type NetworkSet,
  NetworkSetSchema,
  type WorkloadEndpoint,
  WorkloadEndpointSchema,
} from "./calico-endpoints.ts";
import {
  type GlobalNetworkPolicy,
  GlobalNetworkPolicySchema,
  type NetworkPolicy,
  NetworkPolicySchema,
  type StagedGlobalNetworkPolicy,
  StagedGlobalNetworkPolicySchema,
  type StagedNetworkPolicy,
  StagedNetworkPolicySchema,
  type Tier,
  TierSchema,
} from "./calico-policy.ts";
import {
  type Namespace,
  NamespaceSchema,
  type Node,
  NodeSchema,
  type Pod,
  PodSchema,
} from "./core.ts";
import { type GlobalAlert, GlobalAlertSchema } from "./global-alert.ts";
import {
  type K8sNetworkPolicy,
  K8sNetworkPolicySchema,
  type StagedKubernetesNetworkPolicy,
  StagedKubernetesNetworkPolicySchema,
} from "./k8s-network-policy.ts";
import {
  type CronJob,
  CronJobSchema,
  type DaemonSet,
  DaemonSetSchema,
  type Deployment,
  DeploymentSchema,
  type Job,
  JobSchema,
  type ReplicaSet,
  ReplicaSetSchema,
  type StatefulSet,
  StatefulSetSchema,
} from "./workloads.ts";

/**
 * Any accepted object. Tell kinds apart by `apiVersion` and `kind` together: `NetworkPolicy`
 * exists as both networking.k8s.io/v1 and microseg.io/v1.
 */
export type Resource =
  | Namespace
  | Node
  | Pod
  | Deployment
  | ReplicaSet
  | StatefulSet
  | DaemonSet
  | Job
  | CronJob
  | K8sNetworkPolicy
  | AdminNetworkPolicy
  | BaselineAdminNetworkPolicy
  | Tier
  | NetworkPolicy
  | GlobalNetworkPolicy
  | StagedNetworkPolicy
  | StagedGlobalNetworkPolicy
  | StagedKubernetesNetworkPolicy
  | NetworkSet
  | GlobalNetworkSet
  | WorkloadEndpoint
  | HostEndpoint
  | GlobalAlert;

export type ResourceKind = Resource["kind"];

export interface KindInfo {
  readonly apiVersion: Resource["apiVersion"];
  /** The API group; "" for the core group, as Kubernetes writes it. */
  readonly group: string;
  readonly kind: ResourceKind;
  readonly namespaced: boolean;
  readonly schema: z.ZodType<Resource>;
}

/** The API group of an apiVersion: "" for the core group (`v1`), as Kubernetes writes it. */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

function kind(
  apiVersion: Resource["apiVersion"],
  kindName: ResourceKind,
  namespaced: boolean,
  schema: z.ZodType<Resource, unknown>,
): KindInfo {
  return { apiVersion, group: apiGroupOf(apiVersion), kind: kindName, namespaced, schema };
}

export const KINDS: readonly KindInfo[] = [
  kind(CORE_V1, "Namespace", false, NamespaceSchema),
  kind(CORE_V1, "Node", false, NodeSchema),
  kind(CORE_V1, "Pod", true, PodSchema),
  kind(APPS_V1, "Deployment", true, DeploymentSchema),
  kind(APPS_V1, "ReplicaSet", true, ReplicaSetSchema),
  kind(APPS_V1, "StatefulSet", true, StatefulSetSchema),
  kind(APPS_V1, "DaemonSet", true, DaemonSetSchema),
  kind(BATCH_V1, "Job", true, JobSchema),
  kind(BATCH_V1, "CronJob", true, CronJobSchema),
  kind(NETWORKING_V1, "NetworkPolicy", true, K8sNetworkPolicySchema),
  kind(POLICY_V1ALPHA1, "AdminNetworkPolicy", false, AdminNetworkPolicySchema),
  kind(POLICY_V1ALPHA1, "BaselineAdminNetworkPolicy", false, BaselineAdminNetworkPolicySchema),
  kind(MICROSEG_V1, "Tier", false, TierSchema),
  kind(MICROSEG_V1, "NetworkPolicy", true, NetworkPolicySchema),
  kind(MICROSEG_V1, "GlobalNetworkPolicy", false, GlobalNetworkPolicySchema),
  kind(MICROSEG_V1, "StagedNetworkPolicy", true, StagedNetworkPolicySchema),
  kind(MICROSEG_V1, "StagedGlobalNetworkPolicy", false, StagedGlobalNetworkPolicySchema),
  kind(MICROSEG_V1, "StagedKubernetesNetworkPolicy", true, StagedKubernetesNetworkPolicySchema),
  kind(MICROSEG_V1, "NetworkSet", true, NetworkSetSchema),
  kind(MICROSEG_V1, "GlobalNetworkSet", false, GlobalNetworkSetSchema),
  kind(MICROSEG_V1, "WorkloadEndpoint", true, WorkloadEndpointSchema),
  kind(MICROSEG_V1, "HostEndpoint", false, HostEndpointSchema),
  kind(MICROSEG_V1, "GlobalAlert", false, GlobalAlertSchema),
];

const byType = new Map(KINDS.map((k) => [`${k.apiVersion} ${k.kind}`, k]));

/** The kind of a manifest; projectcalico.org/v3 resolves to the same microseg.io/v1 kind. */
export function lookupKind(apiVersion: string, kindName: string): KindInfo | undefined {
  const effective = apiVersion === CALICO_V3 ? MICROSEG_V1 : apiVersion;
  return byType.get(`${effective} ${kindName}`);
}

const NAMESPACED = new Set(KINDS.filter((k) => k.namespaced).map((k) => k.kind));

/** Kinds sharing a name (NetworkPolicy) share the scope, so the name alone decides. */
export function isNamespaced(kindName: ResourceKind): boolean {
  return NAMESPACED.has(kindName);
}

/**
 * `group/Kind/namespace/name`, the identity stores key objects by. The core group is written
 * `core`; cluster-scoped objects have an empty namespace: `microseg.io/Tier//security`.
 */
export function resourceKey(r: Resource): string {
  const group = apiGroupOf(r.apiVersion) || "core";
  return `${group}/${r.kind}/${r.metadata.namespace ?? ""}/${r.metadata.name}`;
}
