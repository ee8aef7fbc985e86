// An in-memory nftables with the kernel's transaction semantics: a transaction runs against a
// copy, command by command, and replaces the state only if every command succeeded. The errors
// are the kernel's (see errors.ts) for the cases the dataplane can cause: missing or existing
// objects, objects still referenced, jumps to base chains, overlapping intervals, key types.

import { firstOf, lastOf, parseExactCidr } from "../net/cidr.ts";
import type {
  Atom,
  ChainObject,
  ChainRename,
  Command,
  Element,
  ElementObject,
  Family,
  FlushRef,
  MapObject,
  NftObject,
  ObjectRef,
  Part,
  RuleObject,
  SetObject,
  Stmt,
  TableObject,
  Verb,
  Verdict,
} from "./ast.ts";
import { canonicalKey, canonicalPart, keyTypes } from "./canonical.ts";
import { NftError } from "./errors.ts";
import type { ChainModel, ElementModel, SetModel, TableModel } from "./model.ts";
import { dumpSorted } from "./model.ts";
import type { Nftables } from "./nftables.ts";
import type { RuleHandles } from "./rule-handles.ts";
import { datatypesOf, renderPart } from "./syntax.ts";
import type { Transaction } from "./transaction.ts";
import { atomError, partError } from "./validate.ts";

interface MemorySet extends Omit<SetModel, "elements"> {
  /** By canonical key text. */
  elements: Map<string, ElementModel>;
}

interface MemoryTable {
  family: Family;
  name: string;
  nextHandle: number;
  chains: Map<string, ChainModel>;
  sets: Map<string, MemorySet>;
}

type State = Map<string, MemoryTable>;

const fail = (code: NftError["code"], message: string): never => {
  throw new NftError(code, message);
};

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class MemoryNftables implements Nftables {
  #state: State = new Map();

  async run(tx: Transaction): Promise<void> {
    this.#state = this.#run(tx);
  }

  async check(tx: Transaction): Promise<void> {
    this.#run(tx);
  }

  async read(family: Family, table: string): Promise<TableModel | undefined> {
    const t = this.#state.get(`${family} ${table}`);
    return t && toModel(t);
  }

  async ruleHandles(
    family: Family,
    table: string,
    chains?: readonly string[],
  ): Promise<RuleHandles> {
    const t = this.#state.get(`${family} ${table}`);
    const out: RuleHandles = new Map();
    for (const c of t?.chains.values() ?? []) {
      if (!chains || chains.includes(c.name))
        out.set(
          c.name,
          c.rules.map((r) => r.handle!),
        );
    }
    return out;
  }

  /** Every table, each as dumpSorted writes it, in order of family and name. */
  dump(): string {
    return [...this.#state.keys()]
      .sort()
      .map((k) => dumpSorted(toModel(this.#state.get(k)!)))
      .join("");
  }

  #run(tx: Transaction): State {
    if (tx.error) throw tx.error;
    const state = structuredClone(this.#state);
    const renames: PendingRename[] = [];
    for (const [i, cmd] of tx.commands.entries()) {
      try {
        applyCommand(state, tx.family, tx.table, cmd, renames);
      } catch (e) {
        if (e instanceof NftError) {
          throw new NftError(
            e.code,
            `command ${i + 1} (${cmd.verb} ${cmd.object.kind}): ${e.message}`,
          );
        }
        throw e;
      }
    }
    for (const rename of renames) applyRename(rename);
    return state;
  }
}

function toModel(t: MemoryTable): TableModel {
  return structuredClone({
    family: t.family,
    name: t.name,
    chains: [...t.chains.values()],
    sets: [...t.sets.values()].map((s) => ({ ...s, elements: [...s.elements.values()] })),
  });
}

/** `renames`: chain renames, which the kernel applies at commit (see renameChain). */
function applyCommand(
  state: State,
  family: Family,
  name: string,
  cmd: Command,
  renames: PendingRename[],
): void {
  const id = `${family} ${name}`;
  if (cmd.object.kind === "table") {
    tableCommand(state, family, name, cmd.verb);
    return;
  }
  const table = state.get(id) ?? fail("ENOENT", `no table ${id}`);
  switch (cmd.verb) {
    case "add":
    case "create":
      addObject(table, cmd.object as Exclude<NftObject, TableObject>, cmd.verb === "create");
      return;
    case "insert":
      addRule(table, cmd.object, true);
      return;
    case "delete":
      deleteObject(table, cmd.object as Exclude<ObjectRef, { kind: "table" }>);
      return;
    case "flush":
      flushObject(table, cmd.object as Exclude<FlushRef, { kind: "table" }>);
      return;
    case "rename":
      renames.push(renameChain(table, cmd.object, renames));
      return;
  }
}

/** A rename the transaction asked for, applied after its last command (see renameChain). */
interface PendingRename {
  readonly table: MemoryTable;
  readonly chain: ChainModel;
  readonly ref: ChainRename;
}

/**
 * The kernel takes a chain's new name at commit: until then the transaction's later commands
 * name it by its old name, and the new one names nothing.
 */
function renameChain(
  table: MemoryTable,
  ref: ChainRename,
  pending: readonly PendingRename[],
): PendingRename {
  const chain = chainOf(table, ref.name);
  if (chain.base) fail("EOPNOTSUPP", `base chain ${ref.name} is not renamed here`);
  if (table.chains.has(ref.to) || pending.some((p) => p.ref.to === ref.to))
    fail("EEXIST", `chain ${ref.to} exists`);
  return { table, chain, ref };
}

/** The kernel's references are to the chain, not its name: every jump and element follows. */
function applyRename({ table, chain, ref }: PendingRename): void {
  // Deleted by its old name later in the transaction: nothing is left to rename.
  if (table.chains.get(ref.name) !== chain) return;
  table.chains.delete(ref.name);
  chain.name = ref.to;
  table.chains.set(ref.to, chain);
  const follow = <T extends Stmt | Atom | undefined>(v: T): T =>
    jumpsTo(v, ref.name) ? ({ ...(v as Verdict), chain: ref.to } as T) : v;
  for (const c of table.chains.values()) for (const r of c.rules) r.body = r.body.map(follow);
  for (const set of table.sets.values()) {
    for (const el of set.elements.values()) if (el.value !== undefined) el.value = follow(el.value);
  }
}

function tableCommand(state: State, family: Family, name: string, verb: Verb): void {
  const id = `${family} ${name}`;
  const table = state.get(id);
  if (verb === "add" || verb === "create") {
    if (table && verb === "create") fail("EEXIST", `table ${id} exists`);
    if (!table) state.set(id, { family, name, nextHandle: 1, chains: new Map(), sets: new Map() });
    return;
  }
  if (!table) throw new NftError("ENOENT", `no table ${id}`);
  if (verb === "delete") state.delete(id);
  else for (const c of table.chains.values()) c.rules = [];
}

function addObject(
  table: MemoryTable,
  obj: Exclude<NftObject, TableObject>,
  create: boolean,
): void {
  switch (obj.kind) {
    case "chain":
      addChain(table, obj, create);
      return;
    case "rule":
      addRule(table, obj, false);
      return;
    case "set":
    case "map":
      addSet(table, obj, create);
      return;
    case "element":
      addElements(table, obj, create);
      return;
  }
}

function addChain(table: MemoryTable, obj: ChainObject, create: boolean): void {
  const existing = table.chains.get(obj.name);
  if (!existing) {
    const chain: ChainModel = { name: obj.name, rules: [], handle: table.nextHandle++ };
    if (obj.base) chain.base = { ...obj.base, policy: obj.base.policy ?? "accept" };
    if (obj.comment !== undefined) chain.comment = obj.comment;
    table.chains.set(obj.name, chain);
    return;
  }
  if (create) fail("EEXIST", `chain ${obj.name} exists`);
  if (!obj.base) return;
  if (!existing.base) fail("EEXIST", `chain ${obj.name} exists as a regular chain`);
  const { policy: _p, ...want } = obj.base;
  const { policy: _q, ...have } = existing.base!;
  if (!sameJson(want, have)) fail("EOPNOTSUPP", `base chain ${obj.name} cannot change its hook`);
  if (obj.base.policy) existing.base!.policy = obj.base.policy;
}

function chainOf(table: MemoryTable, name: string): ChainModel {
  return table.chains.get(name) ?? fail("ENOENT", `no chain ${name}`);
}

function checkVerdict(table: MemoryTable, v: Verdict): void {
  if (v.kind !== "jump" && v.kind !== "goto") return;
  if (chainOf(table, v.chain).base) fail("EOPNOTSUPP", `cannot ${v.kind} to base chain ${v.chain}`);
}

function setOf(table: MemoryTable, name: string, kind: "set" | "map"): MemorySet {
  const s = table.sets.get(name);
  if (!s || s.kind !== kind) fail("ENOENT", `no ${kind} ${name}`);
  return s!;
}

function checkRule(table: MemoryTable, body: Stmt[]): void {
  for (const stmt of body) {
    if (stmt.kind === "match" && typeof stmt.right === "object" && stmt.right.kind === "ref") {
      const s = setOf(table, stmt.right.name, "set");
      if (!sameJson(datatypesOf(stmt.left), s.type)) {
        fail("EINVAL", `datatype mismatch: set ${s.name} holds ${s.type.join(" . ")}`);
      }
    } else if (stmt.kind === "vmap") {
      const m = setOf(table, stmt.map, "map");
      if (m.value !== "verdict") fail("EINVAL", `map ${m.name} does not hold verdicts`);
      if (!sameJson(datatypesOf(stmt.key), m.type)) {
        fail("EINVAL", `datatype mismatch: map ${m.name} is keyed by ${m.type.join(" . ")}`);
      }
    } else if (stmt.kind === "markMap") {
      const m = setOf(table, stmt.map, "map");
      if (m.value !== "mark") fail("EINVAL", `map ${m.name} does not hold marks`);
      if (!sameJson(datatypesOf(stmt.key), m.type)) {
        fail("EINVAL", `datatype mismatch: map ${m.name} is keyed by ${m.type.join(" . ")}`);
      }
    } else if (stmt.kind === "jump" || stmt.kind === "goto") {
      checkVerdict(table, stmt);
    }
  }
}

function addRule(table: MemoryTable, obj: RuleObject, insert: boolean): void {
  const chain = chainOf(table, obj.chain);
  checkRule(table, obj.body);
  let at = insert ? 0 : chain.rules.length;
  if (obj.handle !== undefined) {
    const i = chain.rules.findIndex((r) => r.handle === obj.handle);
    if (i < 0) fail("ENOENT", `no rule with handle ${obj.handle} in chain ${obj.chain}`);
    at = insert ? i : i + 1;
  }
  const rule = {
    body: structuredClone(obj.body),
    handle: table.nextHandle++,
    ...(obj.comment === undefined ? {} : { comment: obj.comment }),
  };
  chain.rules.splice(at, 0, rule);
}

function addSet(table: MemoryTable, obj: SetObject | MapObject, create: boolean): void {
  const spec: Omit<MemorySet, "elements" | "handle" | "name"> = {
    kind: obj.kind,
    type: keyTypes(obj.type, obj.typeof),
    flags: [...(obj.flags ?? [])].sort(),
    ...(obj.kind === "map" ? { value: obj.value } : {}),
    ...(obj.comment === undefined ? {} : { comment: obj.comment }),
  };
  const existing = table.sets.get(obj.name);
  if (existing) {
    const { elements: _e, handle: _h, name: _n, ...have } = existing;
    if (create || !sameJson(spec, have)) fail("EEXIST", `${existing.kind} ${obj.name} exists`);
    return;
  }
  table.sets.set(obj.name, {
    ...spec,
    name: obj.name,
    handle: table.nextHandle++,
    elements: new Map(),
  });
}

/** The inclusive interval a one-component key covers, for overlap checks. */
function interval(part: Part): [bigint, bigint] | undefined {
  const bounds = (a: Atom): [bigint, bigint] | undefined => {
    if (typeof a === "number") return [BigInt(a), BigInt(a)];
    const c = parseExactCidr(a);
    return c ? [firstOf(c), lastOf(c)] : undefined;
  };
  if (typeof part !== "object") return bounds(part);
  const [from, to] = [bounds(part.from), bounds(part.to)];
  return from && to ? [from[0], to[1]] : undefined;
}

function elementOf(table: MemoryTable, setName: string): MemorySet {
  return table.sets.get(setName) ?? fail("ENOENT", `no set or map ${setName}`);
}

function canonicalElementKey(set: MemorySet, key: Part[]): { parts: Part[]; text: string } {
  if (key.length !== set.type.length) {
    fail("EINVAL", `${set.name} keys have ${set.type.length} parts, got ${key.length}`);
  }
  key.forEach((p, i) => {
    const e = partError(p, set.type[i]!);
    if (e) fail("EINVAL", e);
  });
  // nft refuses the spelling, before any normalization: even 198.18.0.1/32 needs the flag.
  const isInterval = (p: Part) =>
    typeof p === "object" || (typeof p === "string" && p.includes("/"));
  if (!set.flags.includes("interval") && key.some(isInterval)) {
    fail(
      "EINVAL",
      `set ${set.name} has no interval flag, so its members cannot be prefixes or ranges`,
    );
  }
  const parts = canonicalKey(key, set.type);
  return { parts, text: parts.map((p) => renderPart(p)).join(" . ") };
}

/** A command's elements one by one, in order, as the kernel commits them: all or none. */
function addElements(table: MemoryTable, obj: ElementObject, create: boolean): void {
  const set = elementOf(table, obj.set);
  for (const el of obj.elements) addElement(table, set, el, create);
}

function addElement(table: MemoryTable, set: MemorySet, el: Element, create: boolean): void {
  const { parts, text } = canonicalElementKey(set, el.key);
  let value = el.value;
  if (set.kind === "map") {
    if (value === undefined) fail("EINVAL", `map ${set.name} elements need a value`);
    if (set.value === "verdict") {
      if (typeof value !== "object") fail("EINVAL", `map ${set.name} holds verdicts`);
      checkVerdict(table, value as Verdict);
    } else {
      const e = typeof value === "object" ? "a verdict" : atomError(value!, set.value!);
      if (e) fail("EINVAL", `map ${set.name} value: ${e}`);
      value = canonicalPart(value as Atom, set.value) as Atom;
    }
  } else if (value !== undefined) {
    fail("EINVAL", `set ${set.name} elements take no value`);
  }
  const existing = set.elements.get(text);
  if (existing) {
    if (create || !sameJson(existing.value, value))
      fail("EEXIST", `element ${text} exists in ${set.name}`);
    return;
  }
  if (set.flags.includes("interval") && parts.length === 1) {
    const mine = interval(parts[0]!);
    for (const el of set.elements.values()) {
      const other = interval(el.key[0]!);
      if (mine && other && mine[0] <= other[1] && other[0] <= mine[1]) {
        fail("EEXIST", `interval ${text} overlaps an existing one in ${set.name}`);
      }
    }
  }
  set.elements.set(text, {
    key: parts,
    ...(value === undefined ? {} : { value }),
    ...(el.comment === undefined ? {} : { comment: el.comment }),
  });
}

const jumpsTo = (v: Stmt | Atom | undefined, chain: string) =>
  typeof v === "object" && (v.kind === "jump" || v.kind === "goto") && v.chain === chain;

function chainInUse(table: MemoryTable, name: string): boolean {
  for (const c of table.chains.values()) {
    if (c.rules.some((r) => r.body.some((s) => jumpsTo(s, name)))) return true;
  }
  for (const s of table.sets.values()) {
    for (const el of s.elements.values()) if (jumpsTo(el.value, name)) return true;
  }
  return false;
}

function setInUse(table: MemoryTable, name: string): boolean {
  const uses = (s: Stmt) =>
    ((s.kind === "vmap" || s.kind === "markMap") && s.map === name) ||
    (s.kind === "match" &&
      typeof s.right === "object" &&
      s.right.kind === "ref" &&
      s.right.name === name);
  return [...table.chains.values()].some((c) => c.rules.some((r) => r.body.some(uses)));
}

function deleteObject(table: MemoryTable, ref: Exclude<ObjectRef, { kind: "table" }>): void {
  switch (ref.kind) {
    case "chain":
      chainOf(table, ref.name);
      if (chainInUse(table, ref.name)) fail("EBUSY", `chain ${ref.name} is still referenced`);
      table.chains.delete(ref.name);
      return;
    case "rule": {
      const chain = chainOf(table, ref.chain);
      const i = chain.rules.findIndex((x) => x.handle === ref.handle);
      if (i < 0) fail("ENOENT", `no rule with handle ${ref.handle} in chain ${ref.chain}`);
      chain.rules.splice(i, 1);
      return;
    }
    case "set":
    case "map":
      setOf(table, ref.name, ref.kind);
      if (setInUse(table, ref.name)) fail("EBUSY", `${ref.kind} ${ref.name} is still referenced`);
      table.sets.delete(ref.name);
      return;
    case "element": {
      const set = elementOf(table, ref.set);
      for (const { key } of ref.elements) {
        const { text } = canonicalElementKey(set, key);
        if (!set.elements.delete(text)) fail("ENOENT", `no element ${text} in ${ref.set}`);
      }
      return;
    }
  }
}

function flushObject(table: MemoryTable, ref: Exclude<FlushRef, { kind: "table" }>): void {
  if (ref.kind === "chain") chainOf(table, ref.name).rules = [];
  else setOf(table, ref.name, ref.kind).elements.clear();
}
