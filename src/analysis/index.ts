// Public face of the analysis stage: pure judgements over a resource set (and recorded flows)
// for the CLI, the API server, the client and the UI: the reachability matrix, explain,
// describe, lint, simulate, recommend and the address-pool cost, with their text forms.
export { type CostOptions, type CostReport, cost, formatCost } from "./cost.ts";
export {
  type Description,
  describeIn,
  type EndpointDescription,
  type ObjectDescription,
  type PolicyDescription,
} from "./describe.ts";
export { formatDescription } from "./describe-text.ts";
export {
  type DirectionExplanation,
  type ExplainQuery,
  type Explanation,
  explainFlow,
  formatExplanation,
} from "./explain.ts";
export {
  CHECKS,
  type Check,
  type Finding,
  findingNamespace,
  formatFindings,
  lint,
  lintExitCode,
  type Severity,
} from "./lint/index.ts";
export {
  byFromToPort,
  formatSummary,
  type Matrix,
  type MatrixCell,
  type MatrixFilter,
  MatrixFilterError,
  type MatrixStream,
  matrixStream,
  type NamespacePairCount,
  namespaceSummary,
  PortListError,
  type PortProtocol,
  parsePortList,
  reachabilityMatrix,
} from "./matrix.ts";
export { formatMatrix, writeResultsJson } from "./matrix-text.ts";
export { type RecommendOptions, recommend } from "./recommend.ts";
export {
  formatSimulation,
  type LiveSimulation,
  type Simulation,
  simulate,
  validateChange,
} from "./simulate.ts";
