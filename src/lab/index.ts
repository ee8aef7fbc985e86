// The network-namespace lab: nodes and pods on one machine, real servers, real probes.

export {
  type DownReport,
  downFromState,
  Lab,
  type LabOptions,
  type ProbeOptions,
  type ProbeResult,
} from "./lab.ts";
export { listNetns } from "./netns.ts";
export { matrixProbes, type ProbeSpec } from "./probe.ts";
export type { ProbeOutcome } from "./protocol.ts";
export { defaultStateDir } from "./state.ts";
export {
  type LabPlan,
  type LabSpec,
  labPrefix,
  type NodePlan,
  type NodeSpec,
  type PodPlan,
  type PodSpec,
  type PortSpec,
  type Protocol,
  planLab,
} from "./topology.ts";
