// The network-namespace lab: nodes and pods on one machine, real servers, real probes, and node
// agents enforcing manifests between them.

export {
  type FollowedStore,
  type FollowRound,
  type FollowStoreOptions,
  LabStoreFollower,
} from "./follow-store.ts";
export {
  type AgentExit,
  type ApplyReport,
  type DownReport,
  downLab,
  findLab,
  Lab,
  type LabOptions,
  type ProbeOptions,
  type ProbeResult,
} from "./lab.ts";
export { labManifests, labSpecFromManifests, type ManifestLabOptions } from "./manifests.ts";
export { type ObservedCell, type ObservedMatrix, observedMatrix } from "./matrix.ts";
export { listNetns } from "./netns.ts";
export { type MatrixProbeOptions, matrixProbes, type ProbeSpec } from "./probe.ts";
export type { ProbeOutcome } from "./protocol.ts";
export { defaultStateDir, LabFiles, labIds } from "./state.ts";
export {
  type LabPlan,
  type LabSpec,
  labPrefix,
  type NodePlan,
  type PodPlan,
  type PodSpec,
  type PortSpec,
  type Protocol,
  planLab,
} from "./topology.ts";
