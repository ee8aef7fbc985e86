// microseg's nftables renderer: the engine's state and deltas as transactions on table
// `inet microseg`, the start-up table, the drift check, and the NFLOG prefixes its rules write.

export { type BridgePort, bridgeDrift, bridgeTransaction } from "./bridge.ts";
export { learnRuleHandles } from "./chain-edits.ts";
export {
  checkDrift,
  compareDumps,
  type DriftReport,
  desiredDump,
  type ObjectDrift,
} from "./drift.ts";
export {
  DEFAULT_ENFORCEMENT,
  type EndpointToHostAction,
  type EnforcementConfig,
  type FailsafePort,
  interfaceMatches,
  MARK_ALLOW,
  MARK_HOST_ALLOWED,
  MARK_PASS,
  parseEndpointToHostAction,
  parseFailsafe,
} from "./enforcement.ts";
export {
  formatLogPrefix,
  type LogPrefix,
  logKey,
  type ParsedLogPrefix,
  parseLogPrefix,
} from "./log-prefix.ts";
export { endpointChain, holderComment, policyChain, prefixSetName, setName } from "./names.ts";
export {
  type AddressHolder,
  changedHands,
  stateHolders,
  tableHolders,
  withoutAddresses,
} from "./owners.ts";
export { bootstrapTransaction } from "./render-base.ts";
export { NftRenderer } from "./renderer.ts";
