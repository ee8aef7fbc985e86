// The kinds an agent on the Kubernetes datastore lists and watches, and where the API serves
// them: the core kinds a policy's selectors read, every policy API the engine compiles, and
// microseg's own kinds as CRDs (group microseg.io, version v1).
import { KINDS, type KindInfo, MICROSEG_V1 } from "../../model/index.ts";

const CORE_AND_POLICY = new Set([
  "v1 Namespace",
  "v1 Node",
  "v1 Pod",
  "v1 ServiceAccount",
  "networking.k8s.io/v1 NetworkPolicy",
  "policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy",
  "policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy",
  "policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy",
]);

/** microseg's own kinds, served by the API server from the CRDs in deploy/crds. */
export const CRD_KINDS: readonly KindInfo[] = KINDS.filter((k) => k.apiVersion === MICROSEG_V1);

export const WATCHED_KINDS: readonly KindInfo[] = [
  ...KINDS.filter((k) => CORE_AND_POLICY.has(`${k.apiVersion} ${k.kind}`)),
  ...CRD_KINDS,
];

/** The collection path of a kind across all namespaces: `/api/v1/pods`, `/apis/G/V/plural`. */
export function collectionPath(info: Pick<KindInfo, "apiVersion" | "plural">): string {
  const base = info.apiVersion.includes("/")
    ? `/apis/${info.apiVersion}`
    : `/api/${info.apiVersion}`;
  return `${base}/${info.plural}`;
}
