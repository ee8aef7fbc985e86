// The nftables half of the dataplane: a typed transaction, the kernel and a fake that apply it,
// and the table model both read back into.

export { applyTransaction, checkTransaction } from "./applier.ts";
export type * from "./ast.ts";
export * from "./build.ts";
export { canonicalBody } from "./canonical.ts";
// Enforcement: the engine's state and deltas rendered into microseg's table.
export {
  checkDrift,
  compareDumps,
  type DriftReport,
  desiredDump,
  type ObjectDrift,
} from "./drift.ts";
export {
  DEFAULT_ENFORCEMENT,
  type EnforcementConfig,
  type FailsafePort,
  MARK_ALLOW,
  MARK_PASS,
  parseFailsafe,
} from "./enforcement.ts";
export { NftError, type NftErrorCode } from "./errors.ts";
export type { NftTarget } from "./exec.ts";
export { FakeNftables } from "./fake.ts";
export { parseTableJson } from "./json.ts";
export { KernelNftables } from "./kernel.ts";
export {
  formatLogPrefix,
  type LogPrefix,
  logKey,
  type ParsedLogPrefix,
  parseLogPrefix,
} from "./log-prefix.ts";
export {
  type ChainModel,
  dumpSorted,
  type ElementModel,
  type RuleModel,
  type SetModel,
  type TableModel,
} from "./model.ts";
export type { Nftables } from "./nftables.ts";
export { readTable } from "./reader.ts";
export { renderBody } from "./render.ts";
export { bootstrapTransaction } from "./render-base.ts";
export { NftRenderer } from "./renderer.ts";
export { type TableTarget, Transaction } from "./transaction.ts";
