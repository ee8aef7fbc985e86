// The engine's state and deltas as nft transactions on one table (`inet microseg`).
//
// `full` writes the whole table in one transaction that deletes and recreates it, so whatever
// was there (nothing, the start-up table, a drifted ruleset) is replaced at one instant and no
// packet ever sees a half-written table. `update` turns one batch of deltas into one
// transaction of element adds and deletes, chain fills and removals, in an order every command
// of which is valid: sets and their members before the policy chains that use them, policy
// chains before the endpoint chains that jump to them, endpoint chains before the map
// elements that lead to them; removals the other way round. A pod moving only changes set
// elements and map elements: no rule changes.
//
// The renderer keeps what it last rendered, so it knows which chains and elements to remove.
// If a transaction fails, that view is ahead of the kernel: render `full` from the engine's
// state to get back in step.

import type {
  DataplaneState,
  Delta,
  DpEndpoint,
  DpPolicy,
  EndpointId,
  PolicyId,
  SetId,
  SetMember,
  SetSpec,
} from "../../engine/index.ts";
import { memberFamily } from "../../engine/index.ts";
import type { IpFamily } from "../../net/cidr.ts";
import type {
  ElementObject,
  Part,
  RuleHandles,
  SetKeyType,
  SetObject,
  Stmt,
} from "../../nft/index.ts";
import { element, Transaction, verdict } from "../../nft/index.ts";
import type { Direction } from "../../policy/index.ts";
import { ChainEdits } from "./chain-edits.ts";
import { type EnforcementConfig, isWorkloadInterface } from "./enforcement.ts";
import { FastPath } from "./fast-path.ts";
import {
  commentOf,
  dispatchMap,
  endpointChain,
  FROM_WORKLOAD,
  HEP_DISPATCH,
  holderComment,
  policyChain,
  prefixSetName,
  selfSet,
  setName,
  sourceSet,
  tiersOf,
  workloadSet,
} from "./names.ts";
import {
  baseChains,
  dispatchesPreDnat,
  fromWorkloadRules,
  hostDispatchRules,
  hostStageSpecs,
  preDnatBaseChain,
  regularChains,
  replacingTable,
  type SpoofingWorkload,
  type StagedHost,
} from "./render-base.ts";
import { type ChainContext, endpointRules, policyRules, stageRules } from "./render-chains.ts";
import {
  AddressElements,
  bySet,
  type ElementChanges,
  familyOf,
  NamedPortElements,
} from "./set-elements.ts";

/** A delta the renderer cannot have been given by a correct engine. */
export class RenderError extends Error {
  readonly code = "render.unknown-set";
}

const FAMILIES: IpFamily[] = [4, 6];
const DIRECTIONS: Direction[] = ["ingress", "egress"];
const addressType = (f: IpFamily) => (f === 4 ? "ipv4_addr" : "ipv6_addr");

type RenderedSet =
  | {
      readonly spec: SetSpec;
      readonly named: true;
      readonly families: Record<IpFamily, NamedPortElements>;
    }
  | {
      readonly spec: SetSpec;
      readonly named: false;
      readonly families: Record<IpFamily, AddressElements>;
    };

function renderedSet(spec: SetSpec): RenderedSet {
  return spec.kind === "named-ports"
    ? { spec, named: true, families: { 4: new NamedPortElements(), 6: new NamedPortElements() } }
    : { spec, named: false, families: { 4: new AddressElements(), 6: new AddressElements() } };
}

/**
 * The nft set that always stands for one family of a SetSpec: its named-port set, or the hash
 * set of its host addresses. The prefix set (`prefixSetObject`) exists only while it has
 * prefixes.
 */
function setObject(spec: SetSpec, f: IpFamily): SetObject {
  if (spec.kind === "named-ports") {
    const comment = commentOf(
      `${spec.kind} ${spec.portName ?? ""}: ${spec.service ?? spec.selector}`,
    );
    const type: SetKeyType[] = [addressType(f), "inet_proto", "inet_service"];
    return { kind: "set", name: setName(spec.id, spec.kind, f), type, comment };
  }
  const comment = commentOf(`${spec.kind}: ${spec.service ?? spec.selector}`);
  return { kind: "set", name: setName(spec.id, spec.kind, f), type: [addressType(f)], comment };
}

/**
 * The interval set of an address set's prefixes, made when the set gains its first prefix and
 * deleted when it loses its last (rules consult it only meanwhile). Not one per set: every
 * libnftables 1.0.6 script that adds or deletes an element first reads back the elements of
 * every interval set of the namespace, one dump each, and the kernel finds each by name along
 * the table's list of sets, so empty interval sets made every element change cost O(sets^2)
 * (4,000 of them: 366 ms per element change; 4,000 hash sets: 4 ms).
 */
function prefixSetObject(spec: SetSpec, f: IpFamily): SetObject {
  const comment = commentOf(`${spec.kind}: ${spec.service ?? spec.selector}`);
  return {
    kind: "set",
    name: prefixSetName(spec.id, f),
    type: [addressType(f)],
    flags: ["interval"],
    comment,
  };
}

/** Whether a policy's rules refer to the address or node set. */
function refersTo(policy: DpPolicy, id: SetId): boolean {
  return [...policy.ingress, ...policy.egress].some((r) =>
    [r.source, r.destination].some((e) => e.set === id || e.notSet === id || e.nodeSet === id),
  );
}

function byFamily(members: Iterable<SetMember>): Record<IpFamily, SetMember[]> {
  const out: Record<IpFamily, SetMember[]> = { 4: [], 6: [] };
  for (const m of members) out[memberFamily(m)].push(m);
  return out;
}

const sorted = <K extends string, V>(m: ReadonlyMap<K, V>): [K, V][] =>
  [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A workload's address is bound to its interface; without one it cannot send at all. */
const isWorkload = (e: DpEndpoint | undefined) => e?.kind === "workload";

const spoofs = (e: DpEndpoint | undefined) => (e?.allowedSourcePrefixes?.length ?? 0) > 0;

export class NftRenderer {
  readonly #cfg: EnforcementConfig;
  readonly #ctx: ChainContext;
  #sets = new Map<SetId, RenderedSet>();
  #policies = new Map<PolicyId, DpPolicy>();
  #endpoints = new Map<EndpointId, DpEndpoint>();
  /** Address -> the local endpoints that claim it; the least id owns the map elements. */
  #claims = new Map<string, Set<EndpointId>>();
  #fast: FastPath = this.#newFastPath();
  /** Policy chains' rules as rendered, and their handles once learned. */
  #edits = new ChainEdits();
  /** Endpoint chain -> how many endpoints dispatch to it (it goes with the last). */
  #endpointChains = new Map<string, number>();
  /** Whether the table has the pre-DNAT base chain (some host endpoint has pre-DNAT policy). */
  #preDnat = false;
  /**
   * Endpoint chains the transaction being rendered renames, new name -> old: the kernel takes
   * a new name at commit, so the transaction itself must name such a chain by its old one.
   */
  readonly #renamed = new Map<string, string>();

  constructor(cfg: EnforcementConfig) {
    this.#cfg = cfg;
    this.#ctx = {
      nflogGroup: cfg.nflogGroup,
      verdictMaps: cfg.verdictMaps,
      ...(cfg.nflogAllowGroup !== undefined ? { nflogAllowGroup: cfg.nflogAllowGroup } : {}),
      ...(cfg.nflogAllowSample !== undefined ? { nflogAllowSample: cfg.nflogAllowSample } : {}),
      hasPrefixes: (id, f) => {
        const set = this.#sets.get(id);
        return set !== undefined && !set.named && set.families[f].hasPrefixes;
      },
    };
  }

  /** The whole table for `state`, replacing whatever the table holds, in one transaction. */
  full(state: DataplaneState): Transaction {
    this.#sets = new Map();
    this.#policies = new Map();
    this.#endpoints = new Map();
    this.#claims = new Map();
    this.#fast = this.#newFastPath();
    this.#edits = new ChainEdits();
    this.#endpointChains = new Map();
    this.#renamed.clear();
    const tx = replacingTable(this.#cfg.table);
    if (this.#cfg.verdictMaps) FastPath.declare(tx);
    for (const f of FAMILIES) {
      tx.add({ kind: "set", name: workloadSet(f), type: [addressType(f)] });
      tx.add({ kind: "set", name: sourceSet(f), type: ["ifname", addressType(f)] });
      tx.add({ kind: "set", name: selfSet(f), type: [addressType(f), addressType(f)] });
      for (const d of DIRECTIONS) {
        tx.add({ kind: "map", name: dispatchMap(d, f), type: [addressType(f)], value: "verdict" });
      }
    }
    for (const [id, { spec, members }] of sorted(state.sets)) {
      const set = renderedSet(spec);
      this.#sets.set(id, set);
      const split = byFamily(members.values());
      for (const f of FAMILIES) {
        tx.add(setObject(spec, f));
        this.#members(tx, set, f, split[f], [], []);
      }
    }
    for (const [id, policy] of sorted(state.policies)) {
      this.#policies.set(id, policy);
      this.#fillPolicy(tx, policy, "new");
    }
    for (const [id, endpoint] of sorted(state.endpoints)) {
      this.#endpoints.set(id, endpoint);
      for (const a of endpoint.addresses) this.#claim(a, id, true);
      this.#useEndpointChains(tx, [[undefined, endpoint]]);
    }
    const claimed: ElementObject[] = [];
    for (const [address, claimants] of sorted(this.#claims)) {
      const owner = this.#endpoints.get(this.#owner(claimants)!);
      claimed.push(...this.#move(address, undefined, owner).added);
    }
    for (const el of bySet(claimed)) tx.add(el);
    for (const host of this.#stagedHosts()) this.#fillStages(tx, host, "new");
    const dispatch = hostDispatchRules(this.#cfg, this.#stagedHosts());
    for (const [name, rules] of dispatch) {
      this.#chain(tx, name, "new", "host endpoint stages", rules);
    }
    this.#preDnat = dispatchesPreDnat(dispatch);
    const fromWorkload = { kind: "chain" as const, name: FROM_WORKLOAD };
    const regular = [
      { chain: fromWorkload, rules: this.#fromWorkload() },
      ...regularChains(this.#cfg),
    ];
    const base = [...baseChains(this.#cfg), ...(this.#preDnat ? [preDnatBaseChain()] : [])];
    for (const { chain, rules } of [...regular, ...base]) {
      tx.add(chain);
      for (const body of rules) tx.add({ kind: "rule", chain: chain.name, body });
    }
    if (this.#cfg.verdictMaps) this.#fast.sync(tx, "all");
    return tx;
  }

  #newFastPath(): FastPath {
    return new FastPath({
      endpoints: () => this.#endpoints,
      ownAddresses: (e) => e.addresses.filter((a) => this.#claims.get(a)?.size === 1),
      inSet: (id, address) => {
        const set = this.#sets.get(id);
        return set !== undefined && !set.named && set.families[address.family].contains(address);
      },
      inNamedPorts: (id, address, protocol, port) => {
        const set = this.#sets.get(id);
        return (
          set?.named === true && set.families[address.family].has(address.text, protocol.name, port)
        );
      },
      namedPortsOf: (address) => {
        const ports: number[] = [];
        for (const set of this.#sets.values()) {
          if (set.named) ports.push(...set.families[address.family].portsOf(address.text));
        }
        return ports;
      },
      rules: (id, d) => {
        const p = this.#policies.get(id);
        return !p ? [] : d === "ingress" ? p.ingress : p.egress;
      },
    });
  }

  /**
   * Endpoints whose fast-path verdicts the batch may have changed: touched ones and those
   * sharing their addresses, those using a changed policy, those holding an address whose
   * memberships changed; every one when a prefix changed (it may cover any of them).
   */
  #fastPathDirty(
    touched: ReadonlyMap<EndpointId, DpEndpoint | undefined>,
    policies: ReadonlyMap<PolicyId, unknown>,
    memberAddresses: ReadonlySet<string>,
    prefixChanged: boolean,
  ): Set<EndpointId> | "all" {
    if (prefixChanged) return "all";
    const dirty = new Set<EndpointId>();
    const claimants = (a: string) => {
      for (const id of this.#claims.get(a) ?? []) dirty.add(id);
    };
    for (const [id, before] of touched) {
      dirty.add(id);
      for (const a of before?.addresses ?? []) claimants(a);
      for (const a of this.#endpoints.get(id)?.addresses ?? []) claimants(a);
    }
    for (const a of memberAddresses) claimants(a);
    if (policies.size > 0) {
      for (const [id, e] of this.#endpoints) {
        if ([...e.ingress, ...e.egress].some((t) => t.policies.some((p) => policies.has(p))))
          dirty.add(id);
      }
    }
    return dirty;
  }

  /** One batch of deltas as one transaction; applies them to the renderer's view. */
  update(deltas: readonly Delta[]): Transaction {
    const tx = new Transaction({ family: "inet", table: this.#cfg.table });
    this.#renamed.clear();
    const addedSets: SetSpec[] = [];
    /** nft sets to delete once no rule refers to them: removed sets, emptied prefix sets. */
    const goneSets: string[] = [];
    const members = new Map<SetId, { added: SetMember[]; removed: SetMember[] }>();
    const policies = new Map<PolicyId, "new" | "changed">();
    const removedPolicies = new Set<PolicyId>();
    /** Endpoints touched by the batch, with what they were before it. */
    const touched = new Map<EndpointId, DpEndpoint | undefined>();
    const memberAddresses = new Set<string>();
    let prefixChanged = false;
    const note = (ms: readonly SetMember[]) => {
      for (const m of ms) {
        if (m.kind === "prefix") prefixChanged = true;
        else memberAddresses.add(m.address.text);
      }
    };
    const changesOf = (id: SetId) => {
      const c = members.get(id) ?? { added: [], removed: [] };
      members.set(id, c);
      return c;
    };
    for (const d of deltas) {
      switch (d.type) {
        case "set-added":
          addedSets.push(d.set);
          this.#sets.set(d.set.id, renderedSet(d.set));
          break;
        case "set-members-added":
          changesOf(d.id).added.push(...d.members);
          note(d.members);
          break;
        case "set-members-removed":
          changesOf(d.id).removed.push(...d.members);
          note(d.members);
          break;
        case "set-removed": {
          const set = this.#sets.get(d.id);
          if (set) goneSets.push(...this.#setNames(set));
          // Its members leave every identity (the policies that used it changed too).
          this.#fast.removeSet(d.id);
          this.#sets.delete(d.id);
          members.delete(d.id);
          break;
        }
        case "policy-upserted":
          if (!policies.has(d.policy.id))
            policies.set(d.policy.id, this.#policies.has(d.policy.id) ? "changed" : "new");
          this.#policies.set(d.policy.id, d.policy);
          break;
        case "policy-removed":
          if (policies.get(d.id) !== "new" && this.#policies.has(d.id)) removedPolicies.add(d.id);
          policies.delete(d.id);
          this.#policies.delete(d.id);
          break;
        case "endpoint-upserted":
        case "endpoint-removed": {
          const id = d.type === "endpoint-upserted" ? d.endpoint.id : d.id;
          if (!touched.has(id)) touched.set(id, this.#endpoints.get(id));
          if (d.type === "endpoint-upserted") this.#endpoints.set(id, d.endpoint);
          else this.#endpoints.delete(id);
          break;
        }
      }
    }

    for (const spec of addedSets) {
      for (const f of FAMILIES) tx.add(setObject(spec, f));
    }
    for (const [id, change] of members) {
      const set = this.#sets.get(id);
      // The engine's sequencer adds a set before its members: members of an unknown set are
      // a bug upstream, and skipping them would leave the kernel silently short (Felix panics).
      if (!set) throw new RenderError(`members for set ${id}, which was never added`);
      const added = byFamily(change.added);
      const removed = byFamily(change.removed);
      let flipped = false;
      for (const f of FAMILIES)
        flipped = this.#members(tx, set, f, added[f], removed[f], goneSets) || flipped;
      // The set gained its first prefix or lost its last: the rules using it change shape.
      if (!flipped) continue;
      for (const [pid, policy] of this.#policies) {
        if (!policies.has(pid) && refersTo(policy, id)) policies.set(pid, "changed");
      }
    }
    for (const [id, how] of policies) this.#fillPolicy(tx, this.#policies.get(id)!, how);
    this.#useEndpointChains(
      tx,
      [...touched].map(([id, before]) => [before, this.#endpoints.get(id)] as const),
    );
    this.#restage(tx, touched);
    this.#redispatch(tx, touched);
    if ([...touched].some(([id, before]) => spoofs(before) || spoofs(this.#endpoints.get(id)))) {
      tx.flush({ kind: "chain", name: FROM_WORKLOAD });
      for (const body of this.#fromWorkload()) tx.add({ kind: "rule", chain: FROM_WORKLOAD, body });
    }
    if (this.#cfg.verdictMaps) {
      if (policies.size > 0 || removedPolicies.size > 0) this.#fast.rulesChanged();
      this.#fast.sync(tx, this.#fastPathDirty(touched, policies, memberAddresses, prefixChanged));
    }
    for (const name of this.#unusedEndpointChains()) this.#removeChain(tx, name);
    for (const id of removedPolicies) {
      for (const d of DIRECTIONS) this.#removeChain(tx, policyChain(id, d));
    }
    for (const name of goneSets) tx.delete({ kind: "set", name });
    return tx;
  }

  /** Host endpoints with stages, in a stable order. */
  #stagedHosts(): StagedHost[] {
    const out: StagedHost[] = [];
    for (const [id, e] of sorted(this.#endpoints)) {
      if (e.hostStages) out.push({ id, addresses: e.addresses, stages: e.hostStages });
    }
    return out;
  }

  #fillStages(tx: Transaction, host: StagedHost, how: "new" | "changed"): void {
    for (const { name, d, tiers, allowed } of hostStageSpecs(host)) {
      const rules = stageRules(tiers, d, this.#ctx, allowed);
      this.#chain(tx, name, how, `${host.id} ${name.split("-")[2]} ${d}`, rules);
    }
  }

  /**
   * A batch touching a host endpoint with stages rewrites the dispatch chains whole (host
   * endpoints are few): emptied first, so stage chains can go; touched hosts' stage chains
   * filled, made or removed; then the dispatch rules of every staged host written again.
   */
  #restage(tx: Transaction, touched: ReadonlyMap<EndpointId, DpEndpoint | undefined>): void {
    const hosts = [...touched].filter(
      ([id, before]) => before?.hostStages || this.#endpoints.get(id)?.hostStages,
    );
    if (hosts.length === 0) return;
    for (const name of HEP_DISPATCH) tx.flush({ kind: "chain", name });
    for (const [id, before] of hosts) {
      const stages = this.#endpoints.get(id)?.hostStages;
      if (stages) {
        const addresses = this.#endpoints.get(id)!.addresses;
        this.#fillStages(tx, { id, addresses, stages }, before?.hostStages ? "changed" : "new");
      } else if (before?.hostStages) {
        const gone = { id, addresses: before.addresses, stages: before.hostStages };
        for (const { name } of hostStageSpecs(gone)) this.#removeChain(tx, name);
      }
    }
    const dispatch = hostDispatchRules(this.#cfg, this.#stagedHosts());
    for (const [chain, rules] of dispatch) {
      for (const body of rules) tx.add({ kind: "rule", chain, body });
    }
    const preDnat = dispatchesPreDnat(dispatch);
    if (preDnat === this.#preDnat) return;
    this.#preDnat = preDnat;
    const { chain, rules } = preDnatBaseChain();
    if (preDnat) {
      tx.add(chain);
      for (const body of rules) tx.add({ kind: "rule", chain: chain.name, body });
    } else {
      tx.flush({ kind: "chain", name: chain.name });
      tx.delete({ kind: "chain", name: chain.name });
    }
  }

  /** Workloads that may send from extra prefixes, in a stable order. */
  #fromWorkload(): Stmt[][] {
    const spoofing: SpoofingWorkload[] = [];
    for (const [, e] of sorted(this.#endpoints)) {
      if (e.interfaceName && e.allowedSourcePrefixes?.length) {
        spoofing.push({ interfaceName: e.interfaceName, prefixes: e.allowedSourcePrefixes });
      }
    }
    return fromWorkloadRules(this.#cfg, spoofing);
  }

  /**
   * Moves the elements of every address whose owner the batch changed, or whose owner changed
   * how it sends (kind, interface): map, workload-set and source-pair elements.
   */
  #redispatch(tx: Transaction, touched: ReadonlyMap<EndpointId, DpEndpoint | undefined>): void {
    const addresses = new Set<string>();
    for (const [id, before] of touched) {
      for (const a of before?.addresses ?? []) addresses.add(a);
      for (const a of this.#endpoints.get(id)?.addresses ?? []) addresses.add(a);
    }
    const owners = (view: (id: EndpointId) => DpEndpoint | undefined) =>
      new Map(
        [...addresses].map((a) => {
          const id = this.#owner(this.#claims.get(a));
          return [a, id === undefined ? undefined : view(id)];
        }),
      );
    const was = owners((id) => (touched.has(id) ? touched.get(id) : this.#endpoints.get(id)));
    for (const [id, before] of touched) {
      for (const a of before?.addresses ?? []) this.#claim(a, id, false);
      for (const a of this.#endpoints.get(id)?.addresses ?? []) this.#claim(a, id, true);
    }
    const now = owners((id) => this.#endpoints.get(id));
    const moves = [...addresses].sort().map((a) => this.#move(a, was.get(a), now.get(a)));
    for (const el of bySet(moves.flatMap((m) => m.deleted))) tx.delete(el);
    for (const el of bySet(moves.flatMap((m) => m.added))) tx.add(el);
  }

  #claim(address: string, id: EndpointId, on: boolean): void {
    const claimants = this.#claims.get(address);
    if (on) {
      if (claimants) claimants.add(id);
      else this.#claims.set(address, new Set([id]));
    } else if (claimants) {
      claimants.delete(id);
      if (claimants.size === 0) this.#claims.delete(address);
    }
  }

  #owner(claimants: ReadonlySet<EndpointId> | undefined): EndpointId | undefined {
    let least: EndpointId | undefined;
    for (const id of claimants ?? []) if (least === undefined || id < least) least = id;
    return least;
  }

  /**
   * The element changes that hand `address` from `was` to `now` (either may be none): the map
   * elements leading to the owner's chains, and for a workload owner its workload-set element,
   * its self pair and, on a workload interface, its `interface . address` source pair
   * (prerouting accepts a pair before it looks at the interface; the address of a workload on
   * any other interface is dropped wherever it enters).
   */
  #move(
    address: string,
    was: DpEndpoint | undefined,
    now: DpEndpoint | undefined,
  ): { deleted: ElementObject[]; added: ElementObject[] } {
    const f = familyOf(address);
    const deleted: ElementObject[] = [];
    const added: ElementObject[] = [];
    const change = (set: string, before: string[] | undefined, after: string[] | undefined) => {
      if (before?.join() === after?.join()) return;
      if (before) deleted.push(element(set, before));
      if (after) added.push(element(set, after));
    };
    const workload = (e: DpEndpoint | undefined) => (isWorkload(e) ? [address] : undefined);
    const pair = (e: DpEndpoint | undefined) =>
      isWorkload(e) && e?.interfaceName && isWorkloadInterface(this.#cfg, e.interfaceName)
        ? [e.interfaceName, address]
        : undefined;
    change(workloadSet(f), workload(was), workload(now));
    const self = (e: DpEndpoint | undefined) => (isWorkload(e) ? [address, address] : undefined);
    change(selfSet(f), self(was), self(now));
    change(sourceSet(f), pair(was), pair(now));
    for (const d of DIRECTIONS) {
      const [before, after] = [was, now].map((e) => (e ? endpointChain(e, d) : undefined));
      // A chain renamed by this transaction is named by its old name until the commit.
      const target = after && (this.#renamed.get(after) ?? after);
      if (was?.id === now?.id && before === target) continue;
      const set = dispatchMap(d, f);
      if (before) deleted.push(element(set, [address]));
      if (now && target)
        added.push(element(set, [address], verdict.jump(target), holderComment(now.id)));
    }
    return { deleted, added };
  }

  /**
   * Writes member changes of one family as element changes, deletions first (an addition may
   * overlap a deleted prefix); true when the set gained its first prefix or lost its last. The
   * prefix set is made before its first element; when it loses its last, its name goes to
   * `gone`, to be deleted after the rules that used it.
   */
  #members(
    tx: Transaction,
    set: RenderedSet,
    f: IpFamily,
    added: readonly SetMember[],
    removed: readonly SetMember[],
    gone: string[],
  ): boolean {
    const write = (name: string, changes: ElementChanges) => {
      const keys = (parts: Part[][]) => parts.map((key) => ({ key }));
      if (changes.deleted.length > 0)
        tx.delete({ kind: "element", set: name, elements: keys(changes.deleted) });
      if (changes.added.length > 0)
        tx.add({ kind: "element", set: name, elements: keys(changes.added) });
    };
    const { id, kind } = set.spec;
    for (const m of removed) this.#fast.member(id, m, false);
    for (const m of added) this.#fast.member(id, m, true);
    if (set.named) {
      write(setName(id, kind, f), set.families[f].update(added, removed));
      return false;
    }
    const elements = set.families[f];
    const before = elements.hasPrefixes;
    const changes = elements.update(added, removed);
    if (!before && elements.hasPrefixes) tx.add(prefixSetObject(set.spec, f));
    if (before && !elements.hasPrefixes) gone.push(prefixSetName(id, f));
    else write(prefixSetName(id, f), changes.prefixes);
    write(setName(id, kind, f), changes.hosts);
    return before !== elements.hasPrefixes;
  }

  /** The nft sets standing for a rendered set now. */
  #setNames(set: RenderedSet): string[] {
    return FAMILIES.flatMap((f) => [
      setObject(set.spec, f).name,
      ...(!set.named && set.families[f].hasPrefixes ? [prefixSetName(set.spec.id, f)] : []),
    ]);
  }

  /** Creates (added) or empties (changed) a policy's chains and writes its rules. */
  #fillPolicy(tx: Transaction, policy: DpPolicy, how: "new" | "changed"): void {
    for (const d of DIRECTIONS) {
      const name = policyChain(policy.id, d);
      this.#chain(tx, name, how, `${policy.id} ${d}`, policyRules(policy, d, this.#ctx));
    }
  }

  /**
   * Endpoints moving from the chains of `before` to those of `now` (either may be none): a
   * chain not in the table is made, or, when every endpoint of an old chain leaves it and the
   * batch needs that old name for nothing, the old chain is renamed to it and only its rules
   * from the first that differs are written (a policy added for an endpoint selected by 1,000
   * others: its jump, not a new chain of 1,000 jumps). A chain left with no endpoint stays
   * until the batch's end (`#unusedEndpointChains`).
   */
  #useEndpointChains(
    tx: Transaction,
    moves: ReadonlyArray<readonly [DpEndpoint | undefined, DpEndpoint | undefined]>,
  ): void {
    for (const d of DIRECTIONS) {
      const changed = moves
        .map(([before, now]) => ({
          was: before && endpointChain(before, d),
          is: now && endpointChain(now, d),
          now,
        }))
        .filter((m) => m.was !== m.is);
      const leaving = new Map<string, number>();
      for (const { was } of changed) if (was) leaving.set(was, (leaving.get(was) ?? 0) + 1);
      /** Old chains every endpoint of which leaves in this batch. */
      const emptied = new Set(
        [...leaving].filter(([was, n]) => this.#endpointChains.get(was) === n).map(([w]) => w),
      );
      const wanted = new Set(changed.flatMap((m) => (m.is ? [m.is] : [])));
      const renamedFrom = new Set<string>();
      for (const { was, is, now } of changed) {
        if (now && is) {
          const users = this.#endpointChains.get(is);
          this.#endpointChains.set(is, (users ?? 0) + 1);
          if (users === undefined) {
            const rules = endpointRules(tiersOf(now, d), d, this.#ctx);
            if (was && emptied.has(was) && !wanted.has(was) && !renamedFrom.has(was)) {
              // The kernel takes the new name at commit: until then the transaction names the
              // chain by its old one (`#renamed`), and the old name is free only after it.
              this.#edits.rewrite(tx, was, rules);
              this.#edits.renamed(was, is);
              tx.rename({ kind: "chain", name: was, to: is });
              this.#renamed.set(is, was);
              renamedFrom.add(was);
            } else {
              tx.add({ kind: "chain", name: is });
              this.#edits.created(tx, is, rules);
            }
          }
        }
        if (was && !renamedFrom.has(was)) {
          this.#endpointChains.set(was, this.#endpointChains.get(was)! - 1);
        }
      }
      for (const was of renamedFrom) this.#endpointChains.delete(was);
    }
  }

  /** Endpoint chains no endpoint uses, forgotten: to be removed once nothing leads to them. */
  #unusedEndpointChains(): string[] {
    const unused: string[] = [];
    for (const [name, users] of this.#endpointChains) {
      if (users > 0) continue;
      this.#endpointChains.delete(name);
      unused.push(name);
    }
    return unused;
  }

  #chain(
    tx: Transaction,
    name: string,
    how: "new" | "changed",
    about: string,
    rules: Stmt[][],
  ): void {
    if (how === "changed") {
      this.#edits.rewrite(tx, name, rules);
      return;
    }
    tx.add({ kind: "chain", name, comment: commentOf(about) });
    this.#edits.created(tx, name, rules);
  }

  // Emptied first: older kernels refuse to delete a chain that still holds rules.
  #removeChain(tx: Transaction, name: string): void {
    tx.flush({ kind: "chain", name }).delete({ kind: "chain", name });
    this.#edits.removed(name);
  }

  /**
   * Chains with rules whose kernel handles the renderer does not know yet: read them
   * (`Nftables.ruleHandles`) once the transaction is committed and give them to learnHandles,
   * so later changes edit those chains in place instead of rewriting them.
   */
  unknownHandles(): string[] {
    return this.#edits.unknown();
  }

  /** The handles of rules the last committed transaction added (see unknownHandles). */
  learnHandles(live: RuleHandles): void {
    this.#edits.learn(live);
  }
}
