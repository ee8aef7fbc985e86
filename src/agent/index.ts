// The node agent: a resource source (src/datastore) enforced in the node's nftables table.

export { Agent, type AgentOptions } from "./agent.ts";
export { type ApplyResult, Enforcer, type EnforcerOptions } from "./enforcer.ts";
export { isLogLevel, jsonLogger, type Logger, type LogLevel } from "./logger.ts";
export {
  type AgentStatus,
  AgentStatusSchema,
  latestStatusSender,
  readyFileWriter,
  type StatusListener,
  statusFileWriter,
} from "./status.ts";
