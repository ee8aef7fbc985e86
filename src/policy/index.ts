// Public face of the policy semantics: resources in, a world that judges flows out, and the
// pieces the incremental engine derives from (the same derivation as the from-scratch path).
export { Cluster } from "./cluster.ts";
export { policyName } from "./compile/calico.ts";
export { BUILTIN_TIERS, type TierSpec } from "./compile/tiers.ts";
export { type DeriveContext, deriveResource } from "./derive.ts";
export { Evaluator } from "./evaluate.ts";
export {
  checkIcmpFamily,
  FlowShapeError,
  flowIcmp,
  icmpFamily,
  NamedPortNotFoundError,
  PeerNotFoundError,
  qualifyWorkloadRef,
  resolvePeer,
  resolvePort,
} from "./flow.ts";
export { peerView, podPeerView } from "./peer-view.ts";
export { byOrderThenName, policySortKey } from "./program.ts";
export { normalizeProtocol } from "./protocol.ts";
export { SelectorCache } from "./scope.ts";
export { type ServiceView, serviceKey, servicesOf, serviceView } from "./services.ts";
export * from "./types.ts";
export {
  type Decision,
  type DirectionVerdict,
  describeDecision,
  policyLabel,
  STAGE_HOOKS,
  type Verdict,
} from "./verdict.ts";
export { buildWorld, buildWorldWith, type World, type WorldBuild } from "./world.ts";
