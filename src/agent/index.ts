// The node agent: a resource source (manifest files now, a datastore watch later) enforced in
// the node's nftables table.

export { Agent, type AgentOptions } from "./agent.ts";
export { type ApplyResult, Enforcer, type EnforcerOptions } from "./enforcer.ts";
export type { AgentStatus } from "./files.ts";
export { isLogLevel, jsonLogger, type Logger, type LogLevel } from "./logger.ts";
export { ManifestSource, type ManifestSourceOptions } from "./manifest-source.ts";
export { byKey, diffResources } from "./resource-diff.ts";
export {
  type ResourceSource,
  type SourceBatch,
  SourceError,
  type SourceListener,
  type SourceSnapshot,
} from "./source.ts";
