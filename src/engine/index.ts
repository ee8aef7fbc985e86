// Public face of the incremental engine: resource events in, dataplane deltas out.
export { Engine, type EngineOptions, isLocalEndpoint } from "./graph.ts";
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
