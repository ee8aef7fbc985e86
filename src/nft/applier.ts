// Applies a transaction with one `nft -f -`, which the kernel commits as a single batch: the
// whole script takes effect or none of it does.

import { codeFromStderr, NftError } from "./errors.ts";
import { type NftTarget, runNft } from "./exec.ts";
import type { Transaction } from "./transaction.ts";

async function runScript(tx: Transaction, target: NftTarget, checkOnly: boolean): Promise<void> {
  if (tx.error) throw tx.error;
  if (tx.size === 0) return;
  const args = checkOnly ? ["-c", "-f", "-"] : ["-f", "-"];
  const { code, stderr } = await runNft(args, target, tx.toString());
  if (code !== 0) {
    const first = stderr.split("\n").find((l) => l.includes("Error")) ?? stderr.trim();
    const where = target.netns ? ` in netns ${target.netns}` : "";
    throw new NftError(codeFromStderr(stderr), `nft -f failed${where}: ${first}`, stderr);
  }
}

export function applyTransaction(tx: Transaction, target: NftTarget = {}): Promise<void> {
  return runScript(tx, target, false);
}

/** `nft -c`: the kernel evaluates the batch and discards it. */
export function checkTransaction(tx: Transaction, target: NftTarget = {}): Promise<void> {
  return runScript(tx, target, true);
}
