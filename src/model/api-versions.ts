// The apiVersions manifests may carry. Calico's is an input alias only: objects are stored and
// served as microseg.io/v1 (see resource.ts).
export const CORE_V1 = "v1";
export const APPS_V1 = "apps/v1";
export const BATCH_V1 = "batch/v1";
export const DISCOVERY_V1 = "discovery.k8s.io/v1";
export const NETWORKING_V1 = "networking.k8s.io/v1";
export const POLICY_V1ALPHA1 = "policy.networking.k8s.io/v1alpha1";
export const POLICY_V1ALPHA2 = "policy.networking.k8s.io/v1alpha2";
export const MICROSEG_V1 = "microseg.io/v1";
export const CALICO_V3 = "projectcalico.org/v3";

/** Where a manifest that said `apiVersion: projectcalico.org/v3` records it. */
export const ORIGINAL_API_VERSION_ANNOTATION = "microseg.io/original-api-version";
