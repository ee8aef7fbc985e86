// Reads a live table back into the model, so desired and actual state can be compared.

import type { Family } from "./ast.ts";
import { codeFromStderr, NftError } from "./errors.ts";
import { type NftTarget, runNft } from "./exec.ts";
import { parseTableJson } from "./json.ts";
import type { TableModel } from "./model.ts";

/** The table's chains, rules, sets and maps; undefined when the table does not exist. */
export async function readTable(
  family: Family,
  table: string,
  target: NftTarget = {},
): Promise<TableModel | undefined> {
  const { code, stdout, stderr } = await runNft(["-j", "list", "table", family, table], target);
  if (code !== 0) {
    const errno = codeFromStderr(stderr);
    if (errno === "ENOENT") return undefined;
    throw new NftError(errno, `nft list table ${family} ${table} failed: ${stderr.trim()}`, stderr);
  }
  return parseTableJson(stdout);
}
