// Where resources live. `Datastore` is the store interface (SQLite embedded, etcd, Kubernetes);
// a `ResourceSource` is what an agent follows: manifest files, or a store's watch.
export { ManifestSource, type ManifestSourceOptions } from "./manifest-source.ts";
export { byKey, diffResources, type ResourceMap } from "./resource-diff.ts";
export {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "./source.ts";
export * from "./types.ts";
