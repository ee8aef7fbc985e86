// The Kubernetes datastore: the Kubernetes API as the source an agent follows, the kinds it
// watches, and the CRDs of microseg's own kinds generated from the model's schemas.
export { crdFiles, crdOf, structural } from "./crds.ts";
export { CRD_KINDS, collectionPath, WATCHED_KINDS } from "./kinds.ts";
export { KubernetesSource, type KubernetesSourceOptions } from "./source.ts";
export {
  type KubeApi,
  KubeApiError,
  type KubeConfigOptions,
  type KubeListPage,
  KubeTransport,
  loadKubeConfig,
} from "./transport.ts";
