// What the upper half of the dataplane needs from nftables, met by the kernel (kernel.ts) and by
// an in-memory nftables (memory-nftables.ts) that follows the same rules for tests without root.

import type { Family } from "./ast.ts";
import type { TableModel } from "./model.ts";
import type { RuleHandles } from "./rule-handles.ts";
import type { Transaction } from "./transaction.ts";

export interface Nftables {
  /** Applies the whole transaction or, throwing an NftError, none of it. */
  run(tx: Transaction): Promise<void>;
  /** Tells whether run would succeed, changing nothing. */
  check(tx: Transaction): Promise<void>;
  /** The table as it is now; undefined when it does not exist. */
  read(family: Family, table: string): Promise<TableModel | undefined>;
  /**
   * The handles of the rules of `chains` (all the table's when unset), in chain order, without
   * reading the rest of the table; for in-place rule edits. A missing chain is left out.
   */
  ruleHandles?(family: Family, table: string, chains?: readonly string[]): Promise<RuleHandles>;
}
