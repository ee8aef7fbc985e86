// Where resources live. `Datastore` is the store interface (SQLite embedded, etcd, Kubernetes),
// opened from a URL by `openDatastore`; a `ResourceSource` is what an agent follows: manifest
// files, a store's watch (`DatastoreSource`), or a `MemorySource` that tests push batches into.
export {
  DatastoreSource,
  type DatastoreSourceOptions,
  type WatchableStore,
} from "./datastore-source.ts";
export type { EtcdDatastore, EtcdOptions } from "./etcd/store.ts";
export { listFilter, type ObjectFilter } from "./filters.ts";
export { ManifestSource, type ManifestSourceOptions } from "./manifest-source.ts";
export { MemorySource } from "./memory-source.ts";
export { DEFAULT_DATASTORE_URL, type OpenOptions, openDatastore } from "./open.ts";
export { builtinTierObjects } from "./references.ts";
export { byKey, diffResources, type ResourceMap } from "./resource-diff.ts";
export {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "./source.ts";
export { SqliteDatastore, type SqliteOptions } from "./sqlite/store.ts";
export * from "./types.ts";
