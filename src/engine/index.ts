// Public face of the incremental engine: resource events in, dataplane deltas out.

export { tierLists } from "./equality.ts";
export { Engine, type EngineOptions, isLocalEndpoint } from "./graph.ts";
export { type HostInterfaces, hostBinding, sameInterfaces } from "./host-binding.ts";
export type { ResourceEvent } from "./inputs.ts";
export {
  addressMember,
  addressPortMember,
  type MemberKey,
  memberFamily,
  memberKey,
  prefixMember,
  type SetMember,
} from "./members.ts";
export { policyId } from "./rules.ts";
export type {
  DataplaneState,
  Delta,
  DpEndpoint,
  DpEntity,
  DpHostStages,
  DpPolicy,
  DpRule,
  DpTierRef,
  EndpointId,
  PolicyId,
  PortRange,
  SetId,
  SetKind,
  SetSpec,
} from "./types.ts";
