// A buffer of nft commands that is applied whole or not at all. Each call validates its
// command; the first error is kept, later calls are ignored, and the error surfaces when the
// transaction is applied, so a caller can build a whole transaction without checking each step.

import type { Command, Family, FlushRef, NftObject, ObjectRef, RuleObject } from "./ast.ts";
import { NftError } from "./errors.ts";
import { renderCommand } from "./syntax.ts";
import { commandError, nameError } from "./validate.ts";

export interface TableTarget {
  family: Family;
  table: string;
}

export class Transaction {
  readonly family: Family;
  readonly table: string;
  readonly #commands: Command[] = [];
  #error: NftError | undefined;

  constructor(target: TableTarget) {
    this.family = target.family;
    this.table = target.table;
    const e = nameError("table", target.table);
    if (e) this.#error = new NftError("invalid", e);
  }

  /** Creates the object if missing; for an existing base chain, may change its policy. */
  add(object: NftObject): this {
    return this.#push({ verb: "add", object });
  }

  /** Like add, but fails if the object exists. */
  create(object: Exclude<NftObject, RuleObject>): this {
    return this.#push({ verb: "create", object });
  }

  /** Puts a rule first in its chain, or before the rule whose handle it names. */
  insert(rule: RuleObject): this {
    return this.#push({ verb: "insert", object: rule });
  }

  delete(ref: ObjectRef): this {
    return this.#push({ verb: "delete", object: ref });
  }

  /** Empties a chain or set, or every chain of the table (sets keep their elements). */
  flush(ref: FlushRef): this {
    return this.#push({ verb: "flush", object: ref });
  }

  get error(): NftError | undefined {
    return this.#error;
  }

  get commands(): readonly Command[] {
    return this.#commands;
  }

  get size(): number {
    return this.#commands.length;
  }

  /** The exact script handed to `nft -f`. */
  toString(): string {
    return this.#commands.map((c) => `${renderCommand(c, this.family, this.table)}\n`).join("");
  }

  #push(cmd: Command): this {
    if (this.#error) return this;
    const e = commandError(cmd);
    if (e) {
      const at = `command ${this.#commands.length + 1} (${cmd.verb} ${cmd.object.kind})`;
      this.#error = new NftError("invalid", `${at}: ${e}`);
      return this;
    }
    this.#commands.push(structuredClone(cmd));
    return this;
  }
}
