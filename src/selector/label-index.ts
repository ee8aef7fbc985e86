// Inverted index between endpoints (label sets) and selectors, kept up to date incrementally.
//
// Endpoints are listed under each (key, value) they carry, by slot, in the label columns
// (label-columns.ts). Each selector gets one anchor from its requirements (a key with allowed
// values, or a key that must be present), picked as the one with the fewest endpoints behind
// it when the selector arrives, and is posted under it. Either side then finds its candidates
// on the other through these lists and verifies them with the compiled selector: a selector's
// scan of many slots with its predicate over the columns, one endpoint's check with the
// predicate over its label object; selectors with no requirement (`a != "x"`, `all()`) form
// the unanchored bucket that every endpoint is checked against.
//
// A new selector's candidates are the most of its cost at cold start (100k endpoints, 25k
// selectors: 2.8M predicate calls for 0.26M matches), hence slots and columns: a candidate is
// an int in a typed array and its check reads other typed arrays, not the endpoint's objects
// scattered over the heap (the index's share of the engine bench's cold start went from 1.8 s
// to 1.0 s). A selector whose canonical text another registered selector has takes that one's
// endpoints instead (a policy's subject and another's peer often share a text: 4,185 of the
// 25k at the engine bench's scale). Filtering the anchor's candidates by the postings of the
// other requirements first was tried and dropped: a hash lookup per candidate cost as much as
// the predicate it saved.

import { internalize } from "../util/intern.ts";
import { getOrCreate } from "../util/maps.ts";
import { type Labels, ownValue, type SelectorAst } from "./ast.ts";
import { canonicalSelector } from "./canonical.ts";
import { allOf } from "./combinators.ts";
import { compileSelector, type Predicate } from "./compile.ts";
import {
  type CompiledSlots,
  LabelColumns,
  type SlotList,
  type SlotPredicate,
} from "./label-columns.ts";
import { Postings } from "./postings.ts";
import { requirementsOf } from "./requirements.ts";

/** Consumer side of match changes; each call is one transition of one (selector, endpoint). */
export interface MatchListener<SelectorId extends string, EndpointId extends string> {
  onMatchStarted(selectorId: SelectorId, endpointId: EndpointId): void;
  onMatchStopped(selectorId: SelectorId, endpointId: EndpointId): void;
}

/** null: no usable requirement, so every endpoint is a candidate. */
type Anchor = { readonly key: string; readonly values: readonly string[] | null } | null;

// Selector postings hold these entries rather than ids, so walking them needs no map lookups.
interface SelectorEntry<SelectorId, EndpointId> {
  readonly id: SelectorId;
  ast: SelectorAst;
  text: string;
  compiled: CompiledSlots;
  /**
   * The predicate over a label object, for one endpoint's checks. Built with the entry, not on
   * first use: a first use inside a pod event was its slowest part (agent create p99 x2).
   */
  objectTest: Predicate;
  anchor: Anchor;
  endpoints: Set<EndpointId>;
}

/** One endpoint's check against its candidate selectors: what upsertEndpoint accumulates. */
interface CandidateCheck<SelectorId, EndpointId> {
  readonly labels: Labels;
  readonly id: EndpointId;
  readonly before: ReadonlySet<SelectorId>;
  readonly now: Set<SelectorId>;
  readonly started: SelectorId[];
}

interface EndpointEntry<SelectorId, EndpointId> {
  readonly id: EndpointId;
  readonly slot: number;
  labels: Labels;
  selectors: Set<SelectorId>;
}

const NONE: ReadonlySet<never> = new Set();

export class LabelIndex<SelectorId extends string, EndpointId extends string> {
  private readonly endpoints = new Map<EndpointId, EndpointEntry<SelectorId, EndpointId>>();
  private readonly selectors = new Map<SelectorId, SelectorEntry<SelectorId, EndpointId>>();
  // Endpoints by slot: postings hold slots, which predicates read columns with.
  private readonly bySlot: Array<EndpointEntry<SelectorId, EndpointId> | undefined> = [];
  private readonly columns = new LabelColumns();
  private readonly selectorPostings = new Postings<SelectorEntry<SelectorId, EndpointId>>();
  private readonly unanchored = new Set<SelectorEntry<SelectorId, EndpointId>>();
  // Registered selectors by canonical text, so a second selector of one text copies matches.
  private readonly byText = new Map<string, Set<SelectorEntry<SelectorId, EndpointId>>>();
  // Anchors are picked by posting sizes, which mean little while few endpoints exist (policies
  // often load before pods), so they are picked again each time the endpoint count doubles.
  private reanchorAt = 64;

  /**
   * Callbacks run after the index reflects the change, stops before starts (so a consumer
   * counting references never sees a transient double); they may query the index but must
   * not modify it.
   */
  constructor(private readonly listener?: MatchListener<SelectorId, EndpointId>) {}

  get endpointCount(): number {
    return this.endpoints.size;
  }

  get selectorCount(): number {
    return this.selectors.size;
  }

  /** Distinct label values and keys the columns hold (0 and 0 once everything is removed). */
  get heldLabels(): { values: number; keys: number } {
    return this.columns.size;
  }

  /** Adds or relabels an endpoint. Unchanged labels cost one comparison and report nothing. */
  upsertEndpoint(id: EndpointId, labels: Labels): void {
    let entry = this.endpoints.get(id);
    if (entry !== undefined && sameLabels(entry.labels, labels)) return;
    const copy = ownCopy(labels);
    if (entry === undefined) {
      entry = { id, slot: this.columns.allocate(), labels: copy, selectors: new Set() };
      this.endpoints.set(id, entry);
      this.bySlot[entry.slot] = entry;
      this.columns.write(entry.slot, copy, undefined);
      if (this.endpoints.size >= this.reanchorAt) this.reanchor();
    } else {
      this.columns.write(entry.slot, copy, entry.labels);
      entry.labels = copy;
    }

    const before = entry.selectors;
    const now = new Set<SelectorId>();
    const started: SelectorId[] = [];
    // A method rather than a closure per call: tsx names every closure it creates (keepNames).
    const check = { labels: copy, id, before, now, started };
    for (const sel of this.unanchored) this.checkCandidate(sel, check);
    for (const key in copy) {
      for (const sel of this.selectorPostings.withKey(key)) this.checkCandidate(sel, check);
      for (const sel of this.selectorPostings.withPair(key, ownValue(copy, key)))
        this.checkCandidate(sel, check);
    }
    entry.selectors = now;
    const stopped: SelectorId[] = [];
    for (const sid of before) {
      if (!now.has(sid)) {
        this.selectors.get(sid)!.endpoints.delete(id);
        stopped.push(sid);
      }
    }
    const listener = this.listener;
    if (listener === undefined) return;
    for (const sid of stopped) listener.onMatchStopped(sid, id);
    for (const sid of started) listener.onMatchStarted(sid, id);
  }

  private checkCandidate(
    sel: SelectorEntry<SelectorId, EndpointId>,
    c: CandidateCheck<SelectorId, EndpointId>,
  ): void {
    // The endpoint's own label object, not the columns: one object just written is in cache,
    // where each column read is a miss of its own (columns pay off when scanning many slots).
    if (!sel.objectTest(c.labels)) return;
    c.now.add(sel.id);
    if (!c.before.has(sel.id)) {
      sel.endpoints.add(c.id);
      c.started.push(sel.id);
    }
  }

  removeEndpoint(id: EndpointId): void {
    const entry = this.endpoints.get(id);
    if (entry === undefined) return;
    this.endpoints.delete(id);
    this.columns.write(entry.slot, undefined, entry.labels);
    this.columns.free(entry.slot);
    this.bySlot[entry.slot] = undefined;
    for (const sid of entry.selectors) this.selectors.get(sid)!.endpoints.delete(id);
    if (this.listener === undefined) return;
    for (const sid of entry.selectors) this.listener.onMatchStopped(sid, id);
  }

  /** Adds a selector or replaces it; a replacement equal in canonical form reports nothing. */
  upsertSelector(id: SelectorId, selector: SelectorAst): void {
    const text = canonicalSelector(selector);
    let entry = this.selectors.get(id);
    if (entry?.text === text) return;
    const compiled = this.columns.compile(selector);
    const anchor = this.chooseAnchor(selector);
    const twin = this.sameText(text);
    if (entry === undefined) {
      entry = {
        id,
        ast: selector,
        text,
        compiled,
        objectTest: compileSelector(selector),
        anchor,
        endpoints: new Set(),
      };
      this.selectors.set(id, entry);
    } else {
      this.unpostSelector(entry);
      this.forgetText(entry);
      entry.compiled.release();
      entry.ast = selector;
      entry.text = text;
      entry.compiled = compiled;
      entry.objectTest = compileSelector(selector);
      entry.anchor = anchor;
    }
    this.postSelector(entry);
    getOrCreate(this.byText, text, () => new Set()).add(entry);

    const matched: EndpointEntry<SelectorId, EndpointId>[] = [];
    if (twin !== undefined) {
      for (const eid of twin.endpoints) matched.push(this.endpoints.get(eid)!);
    } else {
      const check = this.scanPredicate(selector, compiled, anchor);
      const bySlot = this.bySlot;
      for (const { slots, length } of this.candidateSlots(anchor)) {
        for (let i = 0; i < length; i++) {
          const slot = slots[i]!;
          if (check(slot)) matched.push(bySlot[slot]!);
        }
      }
    }
    const before = entry.endpoints;
    const now = new Set<EndpointId>();
    const started: EndpointId[] = [];
    for (const ep of matched) {
      now.add(ep.id);
      if (!before.has(ep.id)) {
        ep.selectors.add(id);
        started.push(ep.id);
      }
    }
    entry.endpoints = now;
    const stopped: EndpointId[] = [];
    for (const eid of before) {
      if (!now.has(eid)) {
        this.endpoints.get(eid)!.selectors.delete(id);
        stopped.push(eid);
      }
    }
    const listener = this.listener;
    if (listener === undefined) return;
    for (const eid of stopped) listener.onMatchStopped(id, eid);
    for (const eid of started) listener.onMatchStarted(id, eid);
  }

  removeSelector(id: SelectorId): void {
    const entry = this.selectors.get(id);
    if (entry === undefined) return;
    this.unpostSelector(entry);
    this.forgetText(entry);
    entry.compiled.release();
    this.selectors.delete(id);
    for (const eid of entry.endpoints) this.endpoints.get(eid)!.selectors.delete(id);
    if (this.listener === undefined) return;
    for (const eid of entry.endpoints) this.listener.onMatchStopped(id, eid);
  }

  /** Live view: it changes as the index does, so copy it to keep it across updates. */
  endpointsMatching(selectorId: SelectorId): ReadonlySet<EndpointId> {
    return this.selectors.get(selectorId)?.endpoints ?? NONE;
  }

  /** Live view: it changes as the index does, so copy it to keep it across updates. */
  selectorsMatching(endpointId: EndpointId): ReadonlySet<SelectorId> {
    return this.endpoints.get(endpointId)?.selectors ?? NONE;
  }

  /** Endpoints a selector would match, without registering it (explain, what-if). */
  queryEndpoints(selector: SelectorAst): EndpointId[] {
    const compiled = this.columns.compile(selector);
    const out: EndpointId[] = [];
    for (const { slots, length } of this.candidateSlots(this.chooseAnchor(selector))) {
      for (let i = 0; i < length; i++) {
        if (compiled.test(slots[i]!)) out.push(this.bySlot[slots[i]!]!.id);
      }
    }
    compiled.release();
    return out;
  }

  /** Registered selectors that a label set would match, without adding an endpoint. */
  querySelectors(labels: Labels): SelectorId[] {
    const out: SelectorId[] = [];
    // The label set is not in the columns: these checks read it as an object.
    const check = (sel: SelectorEntry<SelectorId, EndpointId>) => {
      if (sel.objectTest(labels)) out.push(sel.id);
    };
    for (const sel of this.unanchored) check(sel);
    for (const key of Object.keys(labels)) {
      for (const sel of this.selectorPostings.withKey(key)) check(sel);
      for (const sel of this.selectorPostings.withPair(key, ownValue(labels, key))) check(sel);
    }
    return out;
  }

  private reanchor(): void {
    this.reanchorAt = this.endpoints.size * 2;
    for (const sel of this.selectors.values()) {
      const anchor = this.chooseAnchor(sel.ast);
      if (sameAnchor(anchor, sel.anchor)) continue;
      this.unpostSelector(sel);
      sel.anchor = anchor;
      this.postSelector(sel);
    }
  }

  // The requirement with the fewest endpoints behind it now; value sets beat bare keys on ties.
  private chooseAnchor(selector: SelectorAst): Anchor {
    let best: Anchor = null;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const [key, values] of requirementsOf(selector)) {
      let cost = 0;
      if (values === null) cost = this.columns.holders(key) + 0.5;
      else for (const v of values) cost += this.columns.slotsWith(key, v).length;
      if (cost < bestCost) {
        bestCost = cost;
        best = { key, values: values === null ? null : [...values] };
      }
    }
    return best;
  }

  // Lists of slots to walk for an anchor; an endpoint is in at most one of them.
  private candidateSlots(anchor: Anchor): SlotList[] {
    if (anchor === null) {
      const slots = Int32Array.from(this.endpoints.values(), (ep) => ep.slot);
      return [{ slots, length: slots.length }];
    }
    if (anchor.values === null) return [...this.columns.slotsWithKey(anchor.key)];
    return anchor.values.map((v) => this.columns.slotsWith(anchor.key, v));
  }

  private forgetText(sel: SelectorEntry<SelectorId, EndpointId>): void {
    const same = this.byText.get(sel.text);
    if (same?.delete(sel) && same.size === 0) this.byText.delete(sel.text);
  }

  /**
   * The selector's predicate for a scan of its anchor's candidates: a conjunction's operands
   * reordered so the most selective go first (an `==`/`in` by the endpoints its values hold,
   * others as they come, those on the anchor's key last: every candidate satisfies them). Most
   * candidates then fail on the first operand instead of after the always-true ones (the
   * orchestrator and namespace terms scoping adds in front). Reordering `&&` of pure terms is
   * exact.
   */
  private scanPredicate(
    selector: SelectorAst,
    compiled: CompiledSlots,
    anchor: Anchor,
  ): SlotPredicate {
    if (selector.kind !== "and" || compiled.operands === undefined) return compiled.test;
    const cost = (op: SelectorAst): number => {
      if (op.kind !== "eq" && op.kind !== "in") return this.endpoints.size;
      if (op.key === anchor?.key) return Number.POSITIVE_INFINITY;
      const values = "values" in op ? op.values : [op.value];
      let n = 0;
      for (const v of values) n += this.columns.slotsWith(op.key, v).length;
      return n;
    };
    const { operands } = compiled;
    const fns = selector.operands
      .map((op, i) => ({ cost: cost(op), fn: operands[i]! }))
      .sort((a, b) => a.cost - b.cost)
      .map((o) => o.fn);
    return allOf(fns);
  }

  private sameText(text: string): SelectorEntry<SelectorId, EndpointId> | undefined {
    for (const other of this.byText.get(text) ?? []) return other;
    return undefined;
  }

  private postSelector(sel: SelectorEntry<SelectorId, EndpointId>): void {
    const { anchor } = sel;
    if (anchor === null) this.unanchored.add(sel);
    else if (anchor.values === null) this.selectorPostings.addKey(anchor.key, sel);
    else for (const v of anchor.values) this.selectorPostings.addPair(anchor.key, v, sel);
  }

  private unpostSelector(sel: SelectorEntry<SelectorId, EndpointId>): void {
    const { anchor } = sel;
    if (anchor === null) this.unanchored.delete(sel);
    else if (anchor.values === null) this.selectorPostings.removeKey(anchor.key, sel);
    else for (const v of anchor.values) this.selectorPostings.removePair(anchor.key, v, sel);
  }
}

/**
 * A frozen plain copy (callers may mutate their object later). Plain rather than
 * prototype-free because V8 reads plain objects faster; `ownValue` covers `__proto__`. A label
 * set that is frozen already cannot change, so it is kept as it is: at 100k endpoints the
 * copies were 0.4 KiB each (the engine's effective labels are frozen). Its values are compared as
 * they are: equal strings, only not by pointer.
 */
function ownCopy(labels: Labels): Labels {
  if (Object.isFrozen(labels)) return labels;
  const copy: Record<string, string> = {};
  for (const key of Object.keys(labels)) {
    Object.defineProperty(copy, key, {
      value: internalize(ownValue(labels, key)),
      enumerable: true,
    });
  }
  return Object.freeze(copy);
}

function sameAnchor(a: Anchor, b: Anchor): boolean {
  if (a === null || b === null) return a === b;
  if (a.key !== b.key || (a.values === null) !== (b.values === null)) return false;
  const bv = b.values!;
  return (
    a.values === null || (a.values.length === bv.length && a.values.every((v, i) => v === bv[i]))
  );
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    if (!Object.hasOwn(b, k) || ownValue(a, k) !== ownValue(b, k)) return false;
  }
  return true;
}
