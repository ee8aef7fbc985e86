// Members of the active sets: addresses (and CIDRs) of the workloads and network sets a selector
// matches, address/protocol/port triples for named ports, node addresses for node selectors.
// Members are reference-counted, so two entities sharing an address never remove it early.
import type { Endpoint, Node, SliceEndpoints } from "../policy/index.ts";
import { LabelIndex, parseSelector, type SelectorAst } from "../selector/index.ts";
import { getOrCreate } from "../util/maps.ts";
import { type EntityIndex, SET_PREFIX, setSelectorId } from "./entity-index.ts";
import {
  addressMember,
  addressPortMember,
  type MemberKey,
  memberKey,
  prefixMember,
  type SetMember,
} from "./members.ts";
import type { EndpointId, SetId, SetSpec } from "./types.ts";

export interface MemberListener {
  onMembersAdded(id: SetId, members: readonly SetMember[]): void;
  onMembersRemoved(id: SetId, members: readonly SetMember[]): void;
}

interface ActiveSet {
  readonly spec: SetSpec;
  readonly members: Map<MemberKey, { readonly member: SetMember; count: number }>;
}

/** Host-network pods are the node, not a workload: they join no workload set. */
function memberCapable(e: Endpoint): boolean {
  return !e.hostNetwork;
}

export function entityMembers(spec: SetSpec, e: Endpoint): SetMember[] {
  if (spec.kind === "addresses")
    return [...e.addresses.map(addressMember), ...e.nets.map(prefixMember)];
  const out: SetMember[] = [];
  if (spec.targetPorts) {
    for (const tp of spec.targetPorts) {
      for (const p of e.ports) {
        if (typeof tp.port === "number" || p.name !== tp.port || p.protocol !== tp.protocol)
          continue;
        for (const a of e.addresses) out.push(addressPortMember(a, p.protocol, p.port));
      }
      if (typeof tp.port !== "number") continue;
      for (const a of e.addresses) out.push(addressPortMember(a, tp.protocol, tp.port));
    }
    return out;
  }
  for (const p of e.ports) {
    if (p.name !== spec.portName) continue;
    for (const a of e.addresses) out.push(addressPortMember(a, p.protocol, p.port));
  }
  return out;
}

/** A slice's members in a Service set: its addresses, with each of its ports on a destination. */
export function sliceMembers(spec: SetSpec, slice: SliceEndpoints): SetMember[] {
  if (spec.kind === "addresses") return slice.addresses.map(addressMember);
  const out: SetMember[] = [];
  for (const a of slice.addresses)
    for (const p of slice.ports) out.push(addressPortMember(a, p.protocol, p.port));
  return out;
}

export function nodeMembers(n: Node): SetMember[] {
  return n.addresses.map(addressMember);
}

/**
 * One family of sets over one kind of entity. Its label index may be shared with other stages,
 * so it only reads the selectors it registered (ids `set:<selector>`).
 */
class SetFamily<E, Id extends string> {
  readonly entities = new Map<Id, E>();
  readonly setsBySelector = new Map<string, Set<SetId>>();

  constructor(
    private readonly index: LabelIndex<string, Id>,
    private readonly labelsOf: (e: E) => Readonly<Record<string, string>>,
    private readonly membersOf: (spec: SetSpec, e: E) => SetMember[],
    private readonly sets: Map<SetId, ActiveSet>,
    private readonly change: (
      set: ActiveSet,
      before: readonly SetMember[],
      after: readonly SetMember[],
    ) => void,
  ) {}

  /** `selector`: the parsed `set.spec.selector`, parsed here when not given. */
  addSet(set: ActiveSet, selector: SelectorAst | undefined): void {
    const key = set.spec.selector;
    const ids = this.setsBySelector.get(key);
    if (ids) ids.add(set.spec.id);
    else {
      this.setsBySelector.set(key, new Set([set.spec.id]));
      this.index.upsertSelector(setSelectorId(key), selector ?? parseSelector(key));
    }
    for (const id of this.index.endpointsMatching(setSelectorId(key))) {
      this.change(set, [], this.membersOf(set.spec, this.entities.get(id)!));
    }
  }

  removeSet(spec: SetSpec): void {
    const ids = this.setsBySelector.get(spec.selector)!;
    ids.delete(spec.id);
    if (ids.size === 0) {
      this.setsBySelector.delete(spec.selector);
      this.index.removeSelector(setSelectorId(spec.selector));
    }
  }

  upsert(id: Id, e: E | undefined): void {
    const old = this.entities.get(id);
    const before = old ? setKeys(this.index.selectorsMatching(id)) : [];
    if (e) {
      this.entities.set(id, e);
      this.index.upsertEndpoint(id, this.labelsOf(e));
    } else if (old) {
      this.entities.delete(id);
      this.index.removeEndpoint(id);
    }
    const after = e ? setKeys(this.index.selectorsMatching(id)) : [];
    // A new entity (every one at cold start) has nothing before: no union to build.
    const keys = before.length === 0 ? after : new Set([...before, ...after]);
    for (const key of keys) {
      for (const setId of this.setsBySelector.get(key)!) {
        const set = this.sets.get(setId)!;
        const was = old && before.includes(key) ? this.membersOf(set.spec, old) : [];
        const now = e && after.includes(key) ? this.membersOf(set.spec, e) : [];
        this.change(set, was, now);
      }
    }
  }
}

/** The selector texts of the set selectors among an entity's matches. */
function setKeys(selectors: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const s of selectors) if (s.startsWith(SET_PREFIX)) out.push(s.slice(SET_PREFIX.length));
  return out;
}

export class SetMemberCalculator {
  readonly #sets = new Map<SetId, ActiveSet>();
  readonly #entities: SetFamily<Endpoint, EndpointId>;
  readonly #nodes: SetFamily<Node, string>;
  readonly #slices = new Map<string, SliceEndpoints>();
  /** Service key -> its active sets (slice-backed ones). */
  readonly #serviceSets = new Map<string, Set<ActiveSet>>();

  /** `entities` is the shared entity index: this stage keeps it up to date. */
  constructor(
    entities: EntityIndex,
    private readonly listener: MemberListener,
  ) {
    const change = (set: ActiveSet, before: readonly SetMember[], after: readonly SetMember[]) =>
      this.change(set, before, after);
    this.#entities = new SetFamily(entities, (e) => e.labels, entityMembers, this.#sets, change);
    this.#nodes = new SetFamily(
      new LabelIndex<string, string>(),
      (n: Node) => n.labels,
      (_, n) => nodeMembers(n),
      this.#sets,
      change,
    );
  }

  onSetActive(spec: SetSpec, selector?: SelectorAst): void {
    const set: ActiveSet = { spec, members: new Map() };
    this.#sets.set(spec.id, set);
    if (spec.service === undefined) {
      this.family(spec).addSet(set, selector);
      return;
    }
    getOrCreate(this.#serviceSets, spec.service, () => new Set()).add(set);
    for (const slice of this.#slices.values()) {
      if (slice.service === spec.service) this.change(set, [], sliceMembers(spec, slice));
    }
  }

  /** Reports every member gone first, so a set re-activated in the same batch nets out. */
  onSetInactive(id: SetId): void {
    const set = this.#sets.get(id)!;
    if (set.members.size > 0)
      this.listener.onMembersRemoved(
        id,
        [...set.members.values()].map((m) => m.member),
      );
    this.#sets.delete(id);
    const { service } = set.spec;
    if (service === undefined) this.family(set.spec).removeSet(set.spec);
    else {
      const sets = this.#serviceSets.get(service)!;
      sets.delete(set);
      if (sets.size === 0) this.#serviceSets.delete(service);
    }
  }

  /** An EndpointSlice (`id` unique per slice and Service) changed or went. */
  upsertSlice(id: string, slice: SliceEndpoints | undefined): void {
    const old = this.#slices.get(id);
    if (slice) this.#slices.set(id, slice);
    else this.#slices.delete(id);
    const service = (slice ?? old)?.service;
    if (service === undefined) return;
    for (const set of this.#serviceSets.get(service) ?? []) {
      const before = old ? sliceMembers(set.spec, old) : [];
      this.change(set, before, slice ? sliceMembers(set.spec, slice) : []);
    }
  }

  upsertEntity(id: EndpointId, e: Endpoint | undefined): void {
    this.#entities.upsert(id, e && memberCapable(e) ? e : undefined);
  }

  upsertNode(name: string, n: Node | undefined): void {
    this.#nodes.upsert(name, n);
  }

  private family(spec: SetSpec): SetFamily<Endpoint, EndpointId> | SetFamily<Node, string> {
    return spec.kind === "nodes" ? this.#nodes : this.#entities;
  }

  private change(set: ActiveSet, before: readonly SetMember[], after: readonly SetMember[]): void {
    const added: SetMember[] = [];
    const removed: SetMember[] = [];
    for (const m of after) {
      const key = memberKey(m);
      const held = set.members.get(key);
      if (held) held.count++;
      else {
        set.members.set(key, { member: m, count: 1 });
        added.push(m);
      }
    }
    for (const m of before) {
      const key = memberKey(m);
      const held = set.members.get(key)!;
      if (--held.count === 0) {
        set.members.delete(key);
        removed.push(held.member);
      }
    }
    // Counting the new members up before the old ones down means a member in both never
    // touches zero, so it is reported neither added nor removed.
    if (added.length > 0) this.listener.onMembersAdded(set.spec.id, added);
    if (removed.length > 0) this.listener.onMembersRemoved(set.spec.id, removed);
  }
}
