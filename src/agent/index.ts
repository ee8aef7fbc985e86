// The node agent: a resource source (src/datastore) enforced in the node's nftables table.

export { Agent, type AgentOptions } from "./agent.ts";
export { listenCni } from "./cni-server.ts";
export { CniWorkloads } from "./cni-workloads.ts";
export { type ApplyResult, Enforcer, type EnforcerOptions } from "./enforcer.ts";
export {
  ApiOutlet,
  type ApiOutletOptions,
  FileOutlet,
  type FlowOutlet,
  type FlowReceiver,
} from "./flow-outlet.ts";
export {
  AgentFlows,
  type AgentFlowsOptions,
  type AgentFlowsPart,
  DisabledFlows,
  flowsUnavailable,
} from "./flows.ts";
export { isLogLevel, jsonLogger, type Logger, type LogLevel } from "./logger.ts";
export { AgentMetrics } from "./metrics.ts";
export { policyCounters } from "./policy-counters.ts";
export {
  type AgentStatus,
  AgentStatusSchema,
  type FlowsStatus,
  FlowsStatusSchema,
  latestStatusSender,
  type PolicyCounter,
  PolicyCounterSchema,
  readyFileWriter,
  type ShippingStatus,
  type StatusListener,
  statusFileWriter,
} from "./status.ts";
