// Public face of the flows stage: NFLOG records captured by a supervised ulogd2, enriched with
// identities as of their time, aggregated into flow records, stored, streamed, and alerted on.
export { Aggregator, type AggregatorOptions, type FlowRecord } from "./aggregate.ts";
export {
  type AlertQuery,
  AlertStore,
  type AlertStoreOptions,
  alertMatches,
} from "./alert-store.ts";
export {
  type Alert,
  AlertEvaluator,
  type AlertEvaluatorOptions,
  DEFAULT_ALERT,
  DEFAULT_ALERT_NAME,
} from "./alerts.ts";
export { policyLabelOfId } from "./attribution.ts";
export { type CaptureHealth, type CaptureOptions, FlowCapture } from "./capture.ts";
export { Enricher } from "./enrich.ts";
export { FlowContext } from "./flow-context.ts";
export type { FlowAction, FlowField, FlowFields, FlowLog, StagedVerdict } from "./flow-log.ts";
export { type FlowQuery, FlowQueryError, FlowStore, type FlowStoreOptions } from "./flow-store.ts";
export { NodeFlows, type NodeFlowsHealth, type NodeFlowsOptions } from "./node-flows.ts";
export { ownerName } from "./owner.ts";
export { type PacketLog, PacketLogError, parseUlogdLine } from "./packet-log.ts";
export { FlowPipeline, type FlowPipelineOptions, type FlowStats } from "./pipeline.ts";
export { DeliveryQueue, type DeliveryStats } from "./sinks/delivery-queue.ts";
export {
  AlertmanagerSink,
  type AlertSink,
  JsonLinesSink,
  StreamSink,
  severityLabel,
  WebhookSink,
} from "./sinks/sinks.ts";
export { LiveStream } from "./stream.ts";
export { findPluginDir as findUlogdPlugins } from "./ulogd-config.ts";
export { type UlogdHealth, UlogdSupervisor } from "./ulogd-supervisor.ts";
export {
  AlertSchema,
  type AlertsBody,
  AlertsBodySchema,
  FlowRecordSchema,
  type FlowsBody,
  FlowsBodySchema,
  type IngestResult,
  MAX_ALERTS_PER_POST,
  MAX_RECORDS_PER_POST,
  type StoredAlert,
  StoredAlertSchema,
  type StoredFlowRecord,
  StoredFlowRecordSchema,
} from "./wire.ts";
