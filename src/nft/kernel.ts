// The kernel's nftables through libnftables (Debian's libnftables1) on a long-lived session,
// optionally inside a network namespace: a transaction is one script parsed and committed as
// one netlink batch (the whole script takes effect or none of it does), with nft's own error
// text, and no process is started for it.

import type { Family } from "./ast.ts";
import { codeFromStderr, NftError } from "./errors.ts";
import { parseTableJson } from "./json.ts";
import type { TableModel } from "./model.ts";
import type { Nftables } from "./nftables.ts";
import type { RuleHandles } from "./rule-handles.ts";
import { NftSession, type NftTarget } from "./session.ts";
import type { Transaction } from "./transaction.ts";

export class KernelNftables implements Nftables {
  readonly #session: NftSession;

  constructor(readonly target: NftTarget = {}) {
    this.#session = new NftSession(target);
  }

  run(tx: Transaction): Promise<void> {
    return this.#script(tx, "run");
  }

  /** As `nft -c`: the kernel evaluates the batch and discards it. */
  check(tx: Transaction): Promise<void> {
    return this.#script(tx, "check");
  }

  /** The table's chains, rules, sets and maps; undefined when the table does not exist. */
  async read(family: Family, table: string): Promise<TableModel | undefined> {
    const { rc, output, error } = await this.#session.request(
      "list",
      `list table ${family} ${table}`,
    );
    if (rc === 0) return parseTableJson(output);
    const errno = codeFromStderr(error);
    if (errno === "ENOENT") return undefined;
    throw new NftError(
      errno,
      `nft list table ${family} ${table}${this.#where()}: ${error.trim()}`,
      error,
    );
  }

  /**
   * Whether the set or map holds an element with the key, as nft writes it (`198.18.0.1`,
   * `wl0 . 198.18.0.1`), in the kernel: a dry run of deleting it, which the kernel refuses
   * (ENOENT) for an element it does not hold. Not `nft get element`: that fetches every
   * element of the set into the context's cache first (about 90 ms for 50k), and the context's
   * next transactions then paid as much again.
   */
  async hasElement(family: Family, table: string, set: string, key: string): Promise<boolean> {
    const command = `delete element ${family} ${table} ${set} { ${key} }`;
    const { rc, error } = await this.#session.request("check", command);
    if (rc === 0) return true;
    const errno = codeFromStderr(error);
    if (errno === "ENOENT") return false;
    throw new NftError(errno, `nft -c ${command}${this.#where()}: ${error.trim()}`, error);
  }

  /** The handles of the rules of `chains` (all when unset), over netlink (rule-handles.ts). */
  async ruleHandles(
    family: Family,
    table: string,
    chains?: readonly string[],
  ): Promise<RuleHandles> {
    const req = { family, table, ...(chains ? { chains } : {}) };
    const { rc, output, error } = await this.#session.requestHandles(req);
    if (rc !== 0)
      throw new NftError("exec", `rule handles of ${family} ${table}${this.#where()}: ${error}`);
    return new Map(JSON.parse(output) as [string, number[]][]);
  }

  /** Ends the session's worker thread (a later call starts another). */
  close(): Promise<void> {
    return this.#session.close();
  }

  async #script(tx: Transaction, op: "run" | "check"): Promise<void> {
    if (tx.error) throw tx.error;
    if (tx.size === 0) return;
    const { rc, error } = await this.#session.request(op, tx.toString());
    if (rc === 0) return;
    throw new NftError(
      codeFromStderr(error),
      `nftables transaction failed${this.#where()}: ${failedCommand(error)}`,
      error,
    );
  }

  #where(): string {
    return this.target.netns ? ` in netns ${this.target.netns}` : "";
  }
}

/**
 * nft's first error and the command it names: `FILE:LINE:COLUMNS: Error: ...` is followed by
 * the offending command and a line underlining the part at fault.
 */
function failedCommand(stderr: string): string {
  const lines = stderr.split("\n");
  const at = lines.findIndex((l) => l.includes("Error"));
  if (at < 0) return stderr.trim() || "(no error text)";
  const located = /^.*?:(\d+):[\d-]+: (Error.*)$/.exec(lines[at]!.trim());
  const error = located ? `line ${located[1]}: ${located[2]}` : lines[at]!.trim();
  const command = lines[at + 1]?.trim();
  return command ? `${error} (in: ${command})` : error;
}
