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
  DISCOVERY_V1,
  MICROSEG_V1,
  NETWORKING_V1,
  POLICY_V1ALPHA1,
  POLICY_V1ALPHA2,
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
import { type ClusterNetworkPolicy, ClusterNetworkPolicySchema } from "./cluster-network-policy.ts";
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
  type EndpointSlice,
  EndpointSliceSchema,
  type Service,
  type ServiceAccount,
  ServiceAccountSchema,
  ServiceSchema,
} from "./services.ts";
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
  | ServiceAccount
  | Service
  | EndpointSlice
  | Deployment
  | ReplicaSet
  | StatefulSet
  | DaemonSet
  | Job
  | CronJob
  | K8sNetworkPolicy
  | AdminNetworkPolicy
  | BaselineAdminNetworkPolicy
  | ClusterNetworkPolicy
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
  /** The lower-case plural of the API paths (`networkpolicies`). */
  readonly plural: string;
  /** kubectl's short names, and Calico's for its kinds (`netpol`, `gnp`). */
  readonly shortNames: readonly string[];
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
  shortNames: readonly string[] = [],
): KindInfo {
  const group = apiGroupOf(apiVersion);
  const lower = kindName.toLowerCase();
  const plural = lower.endsWith("y") ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  return { apiVersion, group, kind: kindName, namespaced, schema, plural, shortNames };
}

export const KINDS: readonly KindInfo[] = [
  kind(CORE_V1, "Namespace", false, NamespaceSchema, ["ns"]),
  kind(CORE_V1, "Node", false, NodeSchema, ["no"]),
  kind(CORE_V1, "Pod", true, PodSchema, ["po"]),
  kind(CORE_V1, "ServiceAccount", true, ServiceAccountSchema, ["sa"]),
  kind(CORE_V1, "Service", true, ServiceSchema, ["svc"]),
  kind(APPS_V1, "Deployment", true, DeploymentSchema, ["deploy"]),
  kind(APPS_V1, "ReplicaSet", true, ReplicaSetSchema, ["rs"]),
  kind(APPS_V1, "StatefulSet", true, StatefulSetSchema, ["sts"]),
  kind(APPS_V1, "DaemonSet", true, DaemonSetSchema, ["ds"]),
  kind(BATCH_V1, "Job", true, JobSchema, []),
  kind(BATCH_V1, "CronJob", true, CronJobSchema, ["cj"]),
  kind(DISCOVERY_V1, "EndpointSlice", true, EndpointSliceSchema),
  kind(NETWORKING_V1, "NetworkPolicy", true, K8sNetworkPolicySchema, ["netpol"]),
  kind(POLICY_V1ALPHA1, "AdminNetworkPolicy", false, AdminNetworkPolicySchema, ["anp"]),
  kind(POLICY_V1ALPHA1, "BaselineAdminNetworkPolicy", false, BaselineAdminNetworkPolicySchema, [
    "banp",
  ]),
  // Upstream's short name `cnp` is Calico's NetworkPolicy's here (as in a cluster with both).
  kind(POLICY_V1ALPHA2, "ClusterNetworkPolicy", false, ClusterNetworkPolicySchema),
  kind(MICROSEG_V1, "Tier", false, TierSchema),
  kind(MICROSEG_V1, "NetworkPolicy", true, NetworkPolicySchema, ["cnp"]),
  kind(MICROSEG_V1, "GlobalNetworkPolicy", false, GlobalNetworkPolicySchema, ["gnp", "cgnp"]),
  kind(MICROSEG_V1, "StagedNetworkPolicy", true, StagedNetworkPolicySchema, ["snp"]),
  kind(MICROSEG_V1, "StagedGlobalNetworkPolicy", false, StagedGlobalNetworkPolicySchema, ["sgnp"]),
  kind(MICROSEG_V1, "StagedKubernetesNetworkPolicy", true, StagedKubernetesNetworkPolicySchema, [
    "sknp",
  ]),
  kind(MICROSEG_V1, "NetworkSet", true, NetworkSetSchema, ["netsets"]),
  kind(MICROSEG_V1, "GlobalNetworkSet", false, GlobalNetworkSetSchema),
  kind(MICROSEG_V1, "WorkloadEndpoint", true, WorkloadEndpointSchema, ["wep"]),
  kind(MICROSEG_V1, "HostEndpoint", false, HostEndpointSchema, ["hep"]),
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
