// Inverted index between endpoints (label sets) and selectors, kept up to date incrementally.
//
// Endpoints are posted under each (key, value) they carry and each key. Each selector gets one
// anchor from its requirements (a key with allowed values, or a key that must be present),
// picked as the one with the fewest endpoints behind it when the selector arrives, and is
// posted under it. Either side then finds its candidates on the other through postings and
// verifies them with the compiled predicate; selectors with no requirement (`a != "x"`,
// `all()`) form the unanchored bucket that every endpoint is checked against.
import type { Labels, SelectorAst } from "./ast.ts";
import { canonicalSelector } from "./canonical.ts";
import { compileSelector, type Predicate } from "./compile.ts";
import { Postings } from "./postings.ts";
import { requirementsOf } from "./requirements.ts";

/** Consumer side of match changes; each call is one transition of one (selector, endpoint). */
export interface MatchListener<SelectorId extends string, EndpointId extends string> {
  onMatchStarted(selectorId: SelectorId, endpointId: EndpointId): void;
  onMatchStopped(selectorId: SelectorId, endpointId: EndpointId): void;
}

/** null: no usable requirement, so every endpoint is a candidate. */
type Anchor = { readonly key: string; readonly values: readonly string[] | null } | null;

interface SelectorEntry<EndpointId> {
  readonly text: string;
  readonly matches: Predicate;
  readonly anchor: Anchor;
  readonly endpoints: Set<EndpointId>;
}

interface EndpointEntry<SelectorId> {
  readonly labels: Labels;
  readonly selectors: Set<SelectorId>;
}

const NONE: ReadonlySet<never> = new Set();

export class LabelIndex<SelectorId extends string, EndpointId extends string> {
  private readonly endpoints = new Map<EndpointId, EndpointEntry<SelectorId>>();
  private readonly selectors = new Map<SelectorId, SelectorEntry<EndpointId>>();
  private readonly endpointPostings = new Postings<EndpointId>();
  private readonly selectorPostings = new Postings<SelectorId>();
  private readonly unanchored = new Set<SelectorId>();

  /**
   * Callbacks run after the index reflects the change, so they may query it, but must not
   * modify it.
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
    const old = this.endpoints.get(id);
    if (old !== undefined && sameLabels(old.labels, labels)) return;
    const copy: Labels = Object.freeze({ ...labels });
    if (old !== undefined) this.unpostEndpoint(id, old.labels);
    this.postEndpoint(id, copy);

    const now = new Set<SelectorId>();
    this.forEachCandidateSelector(copy, (sid, entry) => {
      if (entry.matches(copy)) now.add(sid);
    });
    const before: ReadonlySet<SelectorId> = old?.selectors ?? NONE;
    this.endpoints.set(id, { labels: copy, selectors: now });
    const stopped = [...before].filter((sid) => !now.has(sid));
    const started = [...now].filter((sid) => !before.has(sid));
    for (const sid of stopped) this.selectors.get(sid)!.endpoints.delete(id);
    for (const sid of started) this.selectors.get(sid)!.endpoints.add(id);
    this.report(stopped, started, (sid) => [sid, id]);
  }

  removeEndpoint(id: EndpointId): void {
    const old = this.endpoints.get(id);
    if (old === undefined) return;
    this.unpostEndpoint(id, old.labels);
    this.endpoints.delete(id);
    for (const sid of old.selectors) this.selectors.get(sid)!.endpoints.delete(id);
    this.report([...old.selectors], [], (sid) => [sid, id]);
  }

  /** Adds a selector or replaces it; a replacement equal in canonical form reports nothing. */
  upsertSelector(id: SelectorId, selector: SelectorAst): void {
    const text = canonicalSelector(selector);
    const old = this.selectors.get(id);
    if (old?.text === text) return;
    const matches = compileSelector(selector);
    const anchor = this.chooseAnchor(selector);
    const now = new Set<EndpointId>();
    this.forEachCandidateEndpoint(anchor, (eid, labels) => {
      if (matches(labels)) now.add(eid);
    });
    if (old !== undefined) this.unpostSelector(id, old.anchor);
    this.postSelector(id, anchor);
    this.selectors.set(id, { text, matches, anchor, endpoints: now });

    const before: ReadonlySet<EndpointId> = old?.endpoints ?? NONE;
    const stopped = [...before].filter((eid) => !now.has(eid));
    const started = [...now].filter((eid) => !before.has(eid));
    for (const eid of stopped) this.endpoints.get(eid)!.selectors.delete(id);
    for (const eid of started) this.endpoints.get(eid)!.selectors.add(id);
    this.report(stopped, started, (eid) => [id, eid]);
  }

  removeSelector(id: SelectorId): void {
    const old = this.selectors.get(id);
    if (old === undefined) return;
    this.unpostSelector(id, old.anchor);
    this.selectors.delete(id);
    for (const eid of old.endpoints) this.endpoints.get(eid)!.selectors.delete(id);
    this.report([...old.endpoints], [], (eid) => [id, eid]);
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
    this.forEachCandidateEndpoint(this.chooseAnchor(selector), (eid, labels) => {
      if (matches(labels)) out.push(eid);
    });
    return out;
  }

  /** Registered selectors that a label set would match, without adding an endpoint. */
  querySelectors(labels: Labels): SelectorId[] {
    const out: SelectorId[] = [];
    this.forEachCandidateSelector(labels, (sid, entry) => {
      if (entry.matches(labels)) out.push(sid);
    });
    return out;
  }

  labelsOf(endpointId: EndpointId): Labels | undefined {
    return this.endpoints.get(endpointId)?.labels;
  }

  // Stops before starts, so a consumer counting references never sees a transient double.
  private report<Id>(
    stopped: Id[],
    started: Id[],
    pair: (id: Id) => [SelectorId, EndpointId],
  ): void {
    const listener = this.listener;
    if (listener === undefined) return;
    for (const id of stopped) listener.onMatchStopped(...pair(id));
    for (const id of started) listener.onMatchStarted(...pair(id));
  }

  // The requirement with the fewest endpoints behind it now; value sets beat bare keys on ties.
  private chooseAnchor(selector: SelectorAst): Anchor {
    let best: Anchor = null;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const [key, values] of requirementsOf(selector)) {
      let cost = 0;
      if (values === null) cost = this.endpointPostings.withKey(key).size + 0.5;
      else for (const v of values) cost += this.endpointPostings.withPair(key, v).size;
      if (cost < bestCost) {
        bestCost = cost;
        best = { key, values: values === null ? null : [...values] };
      }
    }
    return best;
  }

  private forEachCandidateEndpoint(
    anchor: Anchor,
    fn: (id: EndpointId, labels: Labels) => void,
  ): void {
    const visit = (id: EndpointId) => fn(id, this.endpoints.get(id)!.labels);
    if (anchor === null) {
      for (const [id, entry] of this.endpoints) fn(id, entry.labels);
    } else if (anchor.values === null) {
      this.endpointPostings.withKey(anchor.key).forEach(visit);
    } else {
      for (const v of anchor.values) this.endpointPostings.withPair(anchor.key, v).forEach(visit);
    }
  }

  // An endpoint has one value per key, so each anchored selector turns up at most once.
  private forEachCandidateSelector(
    labels: Labels,
    fn: (id: SelectorId, entry: SelectorEntry<EndpointId>) => void,
  ): void {
    const visit = (id: SelectorId) => fn(id, this.selectors.get(id)!);
    this.unanchored.forEach(visit);
    for (const [key, value] of Object.entries(labels)) {
      this.selectorPostings.withKey(key).forEach(visit);
      this.selectorPostings.withPair(key, value).forEach(visit);
    }
  }

  private postEndpoint(id: EndpointId, labels: Labels): void {
    for (const [key, value] of Object.entries(labels)) {
      this.endpointPostings.addPair(key, value, id);
      this.endpointPostings.addKey(key, id);
    }
  }

  private unpostEndpoint(id: EndpointId, labels: Labels): void {
    for (const [key, value] of Object.entries(labels)) {
      this.endpointPostings.removePair(key, value, id);
      this.endpointPostings.removeKey(key, id);
    }
  }

  private postSelector(id: SelectorId, anchor: Anchor): void {
    if (anchor === null) this.unanchored.add(id);
    else if (anchor.values === null) this.selectorPostings.addKey(anchor.key, id);
    else for (const v of anchor.values) this.selectorPostings.addPair(anchor.key, v, id);
  }

  private unpostSelector(id: SelectorId, anchor: Anchor): void {
    if (anchor === null) this.unanchored.delete(id);
    else if (anchor.values === null) this.selectorPostings.removeKey(anchor.key, id);
    else for (const v of anchor.values) this.selectorPostings.removePair(anchor.key, v, id);
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
  }
  return true;
}
