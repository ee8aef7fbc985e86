// Public interface of the model: resource kinds (schemas and types), the kind registry, and
// manifest parsing and loading with errors as data.
export {
  type AdminNetworkPolicy,
  AdminNetworkPolicySchema,
  type AnpNamespacesPeer,
  BASELINE_POLICY_NAME,
  type BaselineAdminNetworkPolicy,
  BaselineAdminNetworkPolicySchema,
} from "./admin-network-policy.ts";
export {
  APPS_V1,
  BATCH_V1,
  CALICO_V3,
  CORE_V1,
  DISCOVERY_V1,
  MICROSEG_V1,
  NETWORKING_V1,
  ORIGINAL_API_VERSION_ANNOTATION,
  POLICY_V1ALPHA1,
  POLICY_V1ALPHA2,
} from "./api-versions.ts";
export {
  type GlobalNetworkSet,
  GlobalNetworkSetSchema,
  type HostEndpoint,
  HostEndpointSchema,
  type NetworkSet,
  NetworkSetSchema,
  type WorkloadEndpoint,
  WorkloadEndpointSchema,
} from "./calico-endpoints.ts";
export {
  CALICO_BUILTIN_TIERS,
  checkPolicyName,
  DEFAULT_TIER,
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
export {
  type EntityRule,
  EntityRuleSchema,
  PROTOCOL_NAMES,
  type ProtocolName,
  type Rule,
  RuleSchema,
} from "./calico-rule.ts";
export {
  type ClusterNetworkPolicy,
  ClusterNetworkPolicySchema,
  type CnpProtocol,
} from "./cluster-network-policy.ts";
export {
  NAMESPACE_NAME_LABEL,
  type Namespace,
  NamespaceSchema,
  type Node,
  NodeSchema,
  type Pod,
  PodSchema,
} from "./core.ts";
export {
  formatManifestError,
  MANIFEST_ERROR_CODES,
  type ManifestError,
  type ManifestErrorCode,
  type ResourceIssue,
} from "./errors.ts";
export { type ResourceEvent, type ResourceIdentity, resourceKey } from "./events.ts";
export { parseDuration } from "./fields.ts";
export {
  FLOW_FIELDS,
  FLOW_LABEL_PREFIXES,
  FLOW_METRIC_FIELDS,
  type GlobalAlert,
  GlobalAlertSchema,
} from "./global-alert.ts";
export { issuesFromZod } from "./issues.ts";
export {
  type K8sNetworkPolicy,
  K8sNetworkPolicySchema,
  type StagedKubernetesNetworkPolicy,
  StagedKubernetesNetworkPolicySchema,
} from "./k8s-network-policy.ts";
export { type LabelSelector, LabelSelectorSchema } from "./label-selector.ts";
export { loadManifests } from "./load.ts";
export { type LoadOptions, type LoadResult, parseManifests } from "./manifests.ts";
export { DEFAULT_NAMESPACE } from "./meta.ts";
export {
  apiGroupOf,
  isNamespaced,
  KINDS,
  type KindInfo,
  lookupKind,
  type Resource,
  type ResourceKind,
} from "./registry.ts";
export { parseResource, type ResourceResult } from "./resource.ts";
export {
  type EndpointSlice,
  EndpointSliceSchema,
  SERVICE_NAME_LABEL,
  type Service,
  type ServiceAccount,
  ServiceAccountSchema,
  ServiceSchema,
} from "./services.ts";
export { type StagedPolicyStatus, StagedPolicyStatusSchema } from "./staged-status.ts";
export {
  checkResourceSet,
  ResourceSetError,
  type SetIssue,
  type SetWarning,
  type ValidationResult,
  validateResources,
  validResource,
  validResources,
} from "./validate.ts";
export {
  CONTROLLER_KINDS,
  controllerOf,
  type PodTemplate,
  podTemplateOf,
  type WorkloadController,
} from "./workloads.ts";
