// The label values of an index's endpoints, stored by key: one dense Int32Array per key, indexed
// by the endpoint's slot, holding a number for the value (0: the key is absent), and for each
// value the list of slots holding it (the index's postings). Selectors are compiled against
// these columns into predicates over a slot.
//
// Why columns: a new selector is checked against every endpoint behind its anchor (at the engine
// bench's scale 2.8M checks at cold start). Reading each candidate's label object cost two to
// three cache misses (the posting's entry, the object, its value string) scattered over a heap
// of 100k endpoints; a column read is one load from an array of 4 bytes per endpoint. Values are
// numbered, so `==` and `in` compare numbers, and the numbers are counted (endpoints holding a
// value, compiled selectors naming it) and reused, so churning values (a ReplicaSet's hash per
// rollout) do not pile up. Columns cost 4 bytes per key per slot, for every key any endpoint
// or selector uses, and 4 more for the slot's place in its value's list (removal swaps the last
// slot of the list in); slots are reused, so they follow the peak number of endpoints. Lists
// of slots in typed arrays replaced Sets of endpoint entries: at 100k endpoints a Set.add into
// the lists of the keys every pod carries cost 0.4 us, and walking them read every entry.
import { type Labels, ownValue, type SelectorAst } from "./ast.ts";
import { allOf, anyOf } from "./combinators.ts";

/** A predicate over an endpoint's slot. */
export type SlotPredicate = (slot: number) => boolean;

/** Slots in no order; `slots` has room beyond `length`. */
export interface SlotList {
  slots: Int32Array;
  length: number;
}

interface Column {
  values: Int32Array;
  /** Each holding slot's index in the list of its value. */
  positions: Int32Array;
  readonly lists: Map<number, SlotList>;
  /** Endpoints holding the key. */
  holders: number;
  /** Holders plus compiled selectors reading it. */
  refs: number;
}

/** What a compiled selector holds: keys once per use, value numbers once per use. */
interface Held {
  readonly keys: string[];
  readonly ids: number[];
}

const NO_SLOTS: SlotList = { slots: new Int32Array(0), length: 0 };

/** A compiled selector: its predicate, its conjuncts' predicates, and what it holds. */
export interface CompiledSlots {
  readonly test: SlotPredicate;
  /** The operands' predicates when the selector is a conjunction, in the AST's order. */
  readonly operands: readonly SlotPredicate[] | undefined;
  /** Gives back the columns and value numbers the predicate holds; later calls do nothing. */
  release(): void;
}

export class LabelColumns {
  #capacity = 64;
  #slots = 0;
  readonly #freeSlots: number[] = [];
  readonly #columns = new Map<string, Column>();
  readonly #ids = new Map<string, number>();
  // Value by number and each number's count; index 0 stands for "absent" and is never given.
  readonly #strings: Array<string | undefined> = [undefined];
  readonly #counts: number[] = [0];
  readonly #freeIds: number[] = [];

  /** Distinct values and keys held now (tests check that churn gives them all back). */
  get size(): { values: number; keys: number } {
    return { values: this.#ids.size, keys: this.#columns.size };
  }

  allocate(): number {
    const reused = this.#freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.#slots++;
    if (slot === this.#capacity) this.#grow();
    return slot;
  }

  /** The slot must hold no labels (`write(slot, undefined, labels)` first). */
  free(slot: number): void {
    this.#freeSlots.push(slot);
  }

  /**
   * Sets the slot's labels from `before` to `after` (undefined: none). New values are taken
   * before old ones are given back, so a value in both never reaches a count of zero.
   */
  write(slot: number, after: Labels | undefined, before: Labels | undefined): void {
    if (after !== undefined) {
      for (const key in after) {
        const had = before !== undefined && Object.hasOwn(before, key);
        const column = had ? this.#columns.get(key)! : this.#use(key);
        const old = column.values[slot]!;
        const id = this.#hold(ownValue(after, key));
        if (id === old) {
          this.#drop(id);
          continue;
        }
        if (had) this.#unlist(column, slot, old);
        else column.holders++;
        this.#list(column, slot, id);
        if (had) this.#drop(old);
      }
    }
    if (before === undefined) return;
    for (const key in before) {
      if (after !== undefined && Object.hasOwn(after, key)) continue;
      const column = this.#columns.get(key)!;
      const old = column.values[slot]!;
      this.#unlist(column, slot, old);
      column.values[slot] = 0;
      column.holders--;
      this.#drop(old);
      this.#unuse(key, column);
    }
  }

  /** The slots whose `key` is `value`: a live view, valid until the next write. */
  slotsWith(key: string, value: string): SlotList {
    const id = this.#ids.get(value);
    return (id !== undefined && this.#columns.get(key)?.lists.get(id)) || NO_SLOTS;
  }

  /** The lists of every value of `key`: live views, valid until the next write. */
  slotsWithKey(key: string): Iterable<SlotList> {
    return this.#columns.get(key)?.lists.values() ?? [];
  }

  /** How many slots hold `key`. */
  holders(key: string): number {
    return this.#columns.get(key)?.holders ?? 0;
  }

  #list(column: Column, slot: number, id: number): void {
    let list = column.lists.get(id);
    if (list === undefined) {
      list = { slots: new Int32Array(4), length: 0 };
      column.lists.set(id, list);
    }
    if (list.length === list.slots.length) list.slots = grown(list.slots, list.length * 2);
    column.positions[slot] = list.length;
    list.slots[list.length++] = slot;
    column.values[slot] = id;
  }

  #unlist(column: Column, slot: number, id: number): void {
    const list = column.lists.get(id)!;
    const at = column.positions[slot]!;
    const last = list.slots[--list.length]!;
    list.slots[at] = last;
    column.positions[last] = at;
    if (list.length === 0) column.lists.delete(id);
  }

  compile(ast: SelectorAst): CompiledSlots {
    const held: Held = { keys: [], ids: [] };
    const operands =
      ast.kind === "and" ? ast.operands.map((op) => this.#build(op, held)) : undefined;
    const test = operands === undefined ? this.#build(ast, held) : allOf(operands);
    let released = false;
    return {
      test,
      operands,
      release: () => {
        if (released) return;
        released = true;
        for (const n of held.ids) this.#drop(n);
        for (const key of held.keys) this.#unuse(key, this.#columns.get(key)!);
      },
    };
  }

  // Methods rather than closures per compile: tsx names every closure it creates (keepNames).
  #build(node: SelectorAst, held: Held): SlotPredicate {
    switch (node.kind) {
      case "all":
      case "global":
        return () => true;
      case "has": {
        const c = this.#column(node.key, held);
        return (s) => c.values[s] !== 0;
      }
      case "eq": {
        const c = this.#column(node.key, held);
        const n = this.#id(node.value, held);
        return (s) => c.values[s] === n;
      }
      case "ne": {
        const c = this.#column(node.key, held);
        const n = this.#id(node.value, held);
        return (s) => c.values[s] !== n;
      }
      case "contains":
      case "startsWith":
      case "endsWith":
        return this.#stringTest(this.#column(node.key, held), node.kind, node.value);
      case "in":
      case "notIn":
        return oneOf(
          node.kind === "in",
          this.#column(node.key, held),
          node.values.map((v) => this.#id(v, held)),
        );
      case "not": {
        const inner = this.#build(node.operand, held);
        return (s) => !inner(s);
      }
      case "and":
        return allOf(node.operands.map((op) => this.#build(op, held)));
      case "or":
        return anyOf(node.operands.map((op) => this.#build(op, held)));
    }
  }

  #column(key: string, held: Held): Column {
    held.keys.push(key);
    return this.#use(key);
  }

  #id(value: string, held: Held): number {
    const n = this.#hold(value);
    held.ids.push(n);
    return n;
  }

  #stringTest(c: Column, kind: "contains" | "startsWith" | "endsWith", value: string) {
    const strings = this.#strings;
    const test =
      kind === "contains"
        ? (v: string) => v.includes(value)
        : kind === "startsWith"
          ? (v: string) => v.startsWith(value)
          : (v: string) => v.endsWith(value);
    return (s: number) => {
      const n = c.values[s]!;
      return n !== 0 && test(strings[n]!);
    };
  }

  #use(key: string): Column {
    let column = this.#columns.get(key);
    if (column === undefined) {
      column = {
        values: new Int32Array(this.#capacity),
        positions: new Int32Array(this.#capacity),
        lists: new Map(),
        holders: 0,
        refs: 0,
      };
      this.#columns.set(key, column);
    }
    column.refs++;
    return column;
  }

  #unuse(key: string, column: Column): void {
    if (--column.refs === 0) this.#columns.delete(key);
  }

  #hold(value: string): number {
    let n = this.#ids.get(value);
    if (n === undefined) {
      n = this.#freeIds.pop() ?? this.#strings.length;
      this.#ids.set(value, n);
      this.#strings[n] = value;
      this.#counts[n] = 0;
    }
    this.#counts[n]!++;
    return n;
  }

  #drop(n: number): void {
    if (n === 0 || --this.#counts[n]! > 0) return;
    this.#ids.delete(this.#strings[n]!);
    this.#strings[n] = undefined;
    this.#freeIds.push(n);
  }

  #grow(): void {
    this.#capacity *= 2;
    for (const column of this.#columns.values()) {
      column.values = grown(column.values, this.#capacity);
      column.positions = grown(column.positions, this.#capacity);
    }
  }
}

function grown(array: Int32Array, capacity: number): Int32Array {
  const out = new Int32Array(capacity);
  out.set(array);
  return out;
}

// Absent keys: `in` never matches, `not in` always does (0 is in no list of value numbers).
function oneOf(positive: boolean, c: Column, ids: number[]): SlotPredicate {
  if (ids.length === 1) {
    const only = ids[0]!;
    return positive ? (s) => c.values[s] === only : (s) => c.values[s] !== only;
  }
  const set = new Set(ids);
  return positive ? (s) => set.has(c.values[s]!) : (s) => !set.has(c.values[s]!);
}
