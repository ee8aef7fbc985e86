// The nftables half of the dataplane: a typed transaction, the kernel and a fake that apply it,
// and the table model both read back into.

export { applyTransaction, checkTransaction } from "./applier.ts";
export type * from "./ast.ts";
export * from "./build.ts";
export { canonicalBody } from "./canonical.ts";
export { NftError, type NftErrorCode } from "./errors.ts";
export type { NftTarget } from "./exec.ts";
export { FakeNftables } from "./fake.ts";
export { parseTableJson } from "./json.ts";
export { KernelNftables } from "./kernel.ts";
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
export { type TableTarget, Transaction } from "./transaction.ts";
