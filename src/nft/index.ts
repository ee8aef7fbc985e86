// A small nftables library that knows nothing of microseg: a typed transaction (command buffer,
// rule AST, validator, exact `nft -f` text), the kernel's nftables through libnftables on a
// long-lived worker thread (transactions, and the reader of live tables), and an in-memory
// nftables with the kernel's transaction semantics.

export type * from "./ast.ts";
export * from "./build.ts";
export { canonicalBody } from "./canonical.ts";
export { NftError, type NftErrorCode } from "./errors.ts";
export { icmpNumber, isIcmpType } from "./icmp.ts";
export { parseTableJson } from "./json.ts";
export { KernelNftables } from "./kernel.ts";
export { MemoryNftables } from "./memory-nftables.ts";
export {
  type ChainModel,
  dumpSorted,
  type ElementModel,
  type RuleModel,
  type SetModel,
  type TableModel,
} from "./model.ts";
export type { Nftables } from "./nftables.ts";
export { protocolNumber } from "./protocols.ts";
export type { RuleHandles } from "./rule-handles.ts";
export type { NftTarget } from "./session.ts";
export { datatypesOf, renderBody } from "./syntax.ts";
export { type TableTarget, Transaction } from "./transaction.ts";
export { prefixError } from "./validate.ts";
