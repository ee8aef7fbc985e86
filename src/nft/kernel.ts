// The kernel's nftables, through the nft binary, optionally inside a network namespace.

import { applyTransaction, checkTransaction } from "./applier.ts";
import type { Family } from "./ast.ts";
import type { NftTarget } from "./exec.ts";
import type { TableModel } from "./model.ts";
import type { Nftables } from "./nftables.ts";
import { readTable } from "./reader.ts";
import type { Transaction } from "./transaction.ts";

export class KernelNftables implements Nftables {
  constructor(readonly target: NftTarget = {}) {}

  run(tx: Transaction): Promise<void> {
    return applyTransaction(tx, this.target);
  }

  check(tx: Transaction): Promise<void> {
    return checkTransaction(tx, this.target);
  }

  read(family: Family, table: string): Promise<TableModel | undefined> {
    return readTable(family, table, this.target);
  }
}
