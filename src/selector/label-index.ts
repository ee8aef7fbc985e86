// Inverted index between endpoints (label sets) and selectors, kept up to date incrementally.
//
// Endpoints are posted under each (key, value) they carry and each key. Each selector gets one
// anchor from its requirements (a key with allowed values, or a key that must be present),
// picked as the one with the fewest endpoints behind it when the selector arrives, and is
// posted under it. Either side then finds its candidates on the other through postings and
// verifies them with the compiled predicate; selectors with no requirement (`a != "x"`,
// `all()`) form the unanchored bucket that every endpoint is checked against.
//
// A new selector's candidates are the most of its cost at cold start (100k endpoints, 25k
// selectors: 2.8M predicate calls for 0.26M matches). A selector whose canonical text another
// registered selector has takes that one's endpoints instead (a policy's subject and another's
// peer often share a text: 4,185 of the 25k at the engine bench's scale). Filtering the
// anchor's candidates by the postings of the other requirements first was tried and dropped:
// a hash lookup per candidate cost as much as the predicate it saved.

import { getOrCreate } from "../util/maps.ts";
import type { Labels, SelectorAst } from "./ast.ts";
import { canonicalSelector } from "./canonical.ts";
import { compileSelector, type Predicate } from "./compile.ts";
import { internalize } from "./intern.ts";
import { Postings } from "./postings.ts";
import { requirementsOf } from "./requirements.ts";

/** Consumer side of match changes; each call is one transition of one (selector, endpoint). */
export interface MatchListener<SelectorId extends string, EndpointId extends string> {
  onMatchStarted(selectorId: SelectorId, endpointId: EndpointId): void;
  onMatchStopped(selectorId: SelectorId, endpointId: EndpointId): void;
}

/** null: no usable requirement, so every endpoint is a candidate. */
type Anchor = { readonly key: string; readonly values: readonly string[] | null } | null;

// Postings hold these entries rather than ids, so walking candidates needs no map lookups.
interface SelectorEntry<SelectorId, EndpointId> {
  readonly id: SelectorId;
  ast: SelectorAst;
  text: string;
  matches: Predicate;
  anchor: Anchor;
  endpoints: Set<EndpointId>;
}

interface EndpointEntry<SelectorId, EndpointId> {
  readonly id: EndpointId;
  labels: Labels;
  selectors: Set<SelectorId>;
}

const NONE: ReadonlySet<never> = new Set();

export class LabelIndex<SelectorId extends string, EndpointId extends string> {
  private readonly endpoints = new Map<EndpointId, EndpointEntry<SelectorId, EndpointId>>();
  private readonly selectors = new Map<SelectorId, SelectorEntry<SelectorId, EndpointId>>();
  private readonly endpointPostings = new Postings<EndpointEntry<SelectorId, EndpointId>>();
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

  /** Adds or relabels an endpoint. Unchanged labels cost one comparison and report nothing. */
  upsertEndpoint(id: EndpointId, labels: Labels): void {
    let entry = this.endpoints.get(id);
    if (entry !== undefined && sameLabels(entry.labels, labels)) return;
    const copy = ownCopy(labels);
    if (entry === undefined) {
      entry = { id, labels: copy, selectors: new Set() };
      this.endpoints.set(id, entry);
      if (this.endpoints.size >= this.reanchorAt) this.reanchor();
      this.postEndpoint(entry);
    } else {
      this.repostEndpoint(entry, copy);
      entry.labels = copy;
    }

    const before = entry.selectors;
    const now = new Set<SelectorId>();
    const started: SelectorId[] = [];
    const check = (sel: SelectorEntry<SelectorId, EndpointId>) => {
      if (!sel.matches(copy)) return;
      now.add(sel.id);
      if (!before.has(sel.id)) {
        sel.endpoints.add(id);
        started.push(sel.id);
      }
    };
    for (const sel of this.unanchored) check(sel);
    for (const key in copy) {
      for (const sel of this.selectorPostings.withKey(key)) check(sel);
      for (const sel of this.selectorPostings.withPair(key, ownValue(copy, key))) check(sel);
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

  removeEndpoint(id: EndpointId): void {
    const entry = this.endpoints.get(id);
    if (entry === undefined) return;
    this.unpostEndpoint(entry);
    this.endpoints.delete(id);
    for (const sid of entry.selectors) this.selectors.get(sid)!.endpoints.delete(id);
    if (this.listener === undefined) return;
    for (const sid of entry.selectors) this.listener.onMatchStopped(sid, id);
  }

  /** Adds a selector or replaces it; a replacement equal in canonical form reports nothing. */
  upsertSelector(id: SelectorId, selector: SelectorAst): void {
    const text = canonicalSelector(selector);
    let entry = this.selectors.get(id);
    if (entry?.text === text) return;
    const matches = compileSelector(selector);
    const anchor = this.chooseAnchor(selector);
    const twin = this.sameText(text);
    if (entry === undefined) {
      entry = { id, ast: selector, text, matches, anchor, endpoints: new Set() };
      this.selectors.set(id, entry);
    } else {
      this.unpostSelector(entry);
      this.forgetText(entry);
      entry.ast = selector;
      entry.text = text;
      entry.matches = matches;
      entry.anchor = anchor;
    }
    this.postSelector(entry);
    getOrCreate(this.byText, text, () => new Set()).add(entry);

    const before = entry.endpoints;
    const now = new Set<EndpointId>();
    const started: EndpointId[] = [];
    const add = (ep: EndpointEntry<SelectorId, EndpointId>) => {
      now.add(ep.id);
      if (!before.has(ep.id)) {
        ep.selectors.add(id);
        started.push(ep.id);
      }
    };
    if (twin !== undefined) {
      for (const eid of twin.endpoints) add(this.endpoints.get(eid)!);
    } else {
      const check = this.scanPredicate(selector, anchor);
      for (const candidates of this.candidateEndpoints(anchor)) {
        for (const ep of candidates) if (check(ep.labels)) add(ep);
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
    const matches = compileSelector(selector);
    const out: EndpointId[] = [];
    for (const candidates of this.candidateEndpoints(this.chooseAnchor(selector))) {
      for (const ep of candidates) if (matches(ep.labels)) out.push(ep.id);
    }
    return out;
  }

  /** Registered selectors that a label set would match, without adding an endpoint. */
  querySelectors(labels: Labels): SelectorId[] {
    const out: SelectorId[] = [];
    for (const sel of this.unanchored) if (sel.matches(labels)) out.push(sel.id);
    for (const key of Object.keys(labels)) {
      const value = ownValue(labels, key);
      for (const sel of this.selectorPostings.withKey(key))
        if (sel.matches(labels)) out.push(sel.id);
      for (const sel of this.selectorPostings.withPair(key, value)) {
        if (sel.matches(labels)) out.push(sel.id);
      }
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
      if (values === null) cost = this.endpointPostings.pairCount(key) + 0.5;
      else for (const v of values) cost += this.endpointPostings.withPair(key, v).size;
      if (cost < bestCost) {
        bestCost = cost;
        best = { key, values: values === null ? null : [...values] };
      }
    }
    return best;
  }

  // Posting sets to walk for an anchor; an endpoint is in at most one of them.
  private candidateEndpoints(anchor: Anchor): Iterable<EndpointEntry<SelectorId, EndpointId>>[] {
    if (anchor === null) return [this.endpoints.values()];
    if (anchor.values === null) return [...this.endpointPostings.pairsOf(anchor.key)];
    return anchor.values.map((v) => this.endpointPostings.withPair(anchor.key, v));
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
  private scanPredicate(selector: SelectorAst, anchor: Anchor): Predicate {
    if (selector.kind !== "and") return compileSelector(selector);
    const cost = (op: SelectorAst): number => {
      if (op.kind !== "eq" && op.kind !== "in") return this.endpoints.size;
      if (op.key === anchor?.key) return Number.POSITIVE_INFINITY;
      const values = "values" in op ? op.values : [op.value];
      let n = 0;
      for (const v of values) n += this.endpointPostings.withPair(op.key, v).size;
      return n;
    };
    const fns = selector.operands
      .map((op) => ({ cost: cost(op), fn: compileSelector(op) }))
      .sort((a, b) => a.cost - b.cost)
      .map((o) => o.fn);
    return (labels) => {
      for (let i = 0; i < fns.length; i++) if (!fns[i]!(labels)) return false;
      return true;
    };
  }

  private sameText(text: string): SelectorEntry<SelectorId, EndpointId> | undefined {
    for (const other of this.byText.get(text) ?? []) return other;
    return undefined;
  }

  // `for in` on a stored copy sees exactly its own keys: Object.prototype has no enumerable ones.
  private postEndpoint(ep: EndpointEntry<SelectorId, EndpointId>): void {
    for (const key in ep.labels) {
      this.endpointPostings.addPair(key, ownValue(ep.labels, key), ep);
    }
  }

  /**
   * A relabel touches only the postings of labels that changed. Large posting sets (every pod
   * carries the orchestrator and namespace keys) would otherwise see a delete and re-add per
   * relabel, and the hash tables behind them an occasional full rehash on the hot path.
   */
  private repostEndpoint(ep: EndpointEntry<SelectorId, EndpointId>, next: Labels): void {
    const postings = this.endpointPostings;
    for (const key in ep.labels) {
      const old = ownValue(ep.labels, key);
      const hasNext = Object.hasOwn(next, key);
      if (hasNext && ownValue(next, key) === old) continue;
      postings.removePair(key, old, ep);
    }
    for (const key in next) {
      const value = ownValue(next, key);
      const hadKey = Object.hasOwn(ep.labels, key);
      if (hadKey && ownValue(ep.labels, key) === value) continue;
      postings.addPair(key, value, ep);
    }
  }

  private unpostEndpoint(ep: EndpointEntry<SelectorId, EndpointId>): void {
    for (const key in ep.labels) {
      this.endpointPostings.removePair(key, ownValue(ep.labels, key), ep);
    }
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

// On an ordinary object `labels.__proto__` reads the prototype, not an own label of that name.
function ownValue(labels: Labels, key: string): string {
  return key === "__proto__" ? Object.getOwnPropertyDescriptor(labels, key)!.value : labels[key]!;
}
