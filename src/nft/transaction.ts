// A buffer of nft commands that is applied whole or not at all. Each call validates its
// command; the first error is kept, later calls are ignored, and the error surfaces when the
// transaction is applied, so a caller can build a whole transaction without checking each step.
// Element commands of one verb on one set in a row become one command (nft parses and commits a
// command's elements together: one command per element made a 528k-element table cost libnftables
// about 68 s). A command means what its elements one per command, in order, would: a key
// already in the open command starts a new one (nft's answer to a key repeated within one
// command depends on the set's type and flags), for merged commands and given ones alike.

import type {
  ChainRename,
  Command,
  Element,
  ElementObject,
  Family,
  FlushRef,
  NftObject,
  ObjectRef,
  Part,
  RuleObject,
  Verb,
} from "./ast.ts";
import { NftError } from "./errors.ts";
import { renderCommand } from "./syntax.ts";
import { commandError, elementKeyText, nameError } from "./validate.ts";

type ElementRef = Extract<ObjectRef, { kind: "element" }>;

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

  /** Renames a regular chain; jumps and verdict elements that led to it follow it. */
  rename(ref: ChainRename): this {
    return this.#push({ verb: "rename", object: ref });
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
    if (cmd.object.kind === "element") this.#pushElements(cmd.verb, cmd.object);
    else {
      this.#open = undefined;
      this.#commands.push(structuredClone(cmd));
    }
    return this;
  }

  /** The last command, while it is an element command, and the key texts it holds. */
  #open: { verb: Verb; set: string; elements: Element[]; keys: Set<string> } | undefined;

  #pushElements(verb: Verb, object: ElementObject | ElementRef): void {
    let open = this.#open;
    for (const el of object.elements) {
      const text = elementKeyText(el.key);
      if (open?.verb !== verb || open.set !== object.set || open.keys.has(text)) {
        const elements: Element[] = [];
        const command = { verb, object: { kind: "element", set: object.set, elements } };
        this.#commands.push(command as Command);
        open = { verb, set: object.set, elements, keys: new Set() };
        this.#open = open;
      }
      open.keys.add(text);
      open.elements.push(verb === "delete" ? { key: copyKey(el.key) } : copyElement(el));
    }
  }
}

// The caller keeps its objects: parts are atoms or ranges, values atoms or verdicts. A delete
// names keys alone (a map element's value, if the caller's object has one, is not written).
const copyKey = (key: readonly Part[]): Part[] =>
  key.map((p) => (typeof p === "object" ? { ...p } : p));

function copyElement(el: Element): Element {
  const key = copyKey(el.key);
  const { value, comment } = el;
  const noted = comment === undefined ? {} : { comment };
  if (value === undefined) return { key, ...noted };
  return { key, value: typeof value === "object" ? { ...value } : value, ...noted };
}
