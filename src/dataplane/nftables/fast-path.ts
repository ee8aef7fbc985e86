// The verdict-map fast path's objects and elements, kept incrementally beside the renderer's
// chains (see identity-verdicts.ts for what an element means).
//
//   endpoint chain:  jump ids-in            (egress: ids-out; one lookup chain for all endpoints)
//   ids-in:          meta l4proto != { tcp, udp, sctp } return  (no ports: the walk)
//                    meta mark & ~HOST_ALLOWED != 0 return   (a foreign mark bit: the walk)
//                    meta mark & HOST_ALLOWED == HOST_ALLOWED goto ids-in-h   (the same, then
//                                                              that bit put back)
//                    meta mark set ip saddr map @ids4        (peer -> identity number; ip6 too)
//                    meta mark set meta mark . ip daddr . meta l4proto . th dport map @x4-in
//                    meta mark & TAG == 0 meta mark set meta mark . ip daddr . meta l4proto
//                                        . th dport map @v4-in              (port ranges)
//                    meta mark & TAG == 0 meta mark set meta mark . ip daddr . meta l4proto
//                                        map @w4-in                         (the other ports)
//                                                  (-> decision number; ip6 too)
//                    meta mark vmap @decide-in               (-> jump the deciding chain)
//                    meta mark set meta mark & ALLOW         (egress: | EGRESS)
//   no element anywhere: the mark comes back without ALLOW and the endpoint chain walks its
//   tiers as before.
//
// Why numbers in the mark rather than verdict maps of jumps: the kernel validates the jump
// graph at every commit that adds a jump or goto and walks every element of every verdict map
// the hooks reach. With peer addresses and verdicts in data maps, that walk only meets the
// decision maps (one element per deciding policy chain), so neither a peer's element nor a
// local endpoint's verdicts pay for the cluster's size. The verdicts of every identity share
// one map per kind, direction and family, keyed by the identity's number (in the mark) first:
// an identity is a number and no kernel object. Mostly hash maps: an element added to a
// populated interval map cost about 0.15 ms (28 of them 4.7 ms, a local pod's whole commit),
// deleted 4 ms, and in one interval map for all identities the kernel's pipapo inserts and
// per-commit clones grew with the map (the 100k-pod cold start's commit took 3 s more CPU),
// where a hash map's cost next to nothing; so single ports and each protocol's other ports go
// to hash maps and only true port ranges to the interval map. nft 1.0.6 takes no map lookup
// as part of a concatenation, nor a mark set from a register with other bits kept, hence the
// whole mark as the carrier, and no fast path when the mark holds a bit microseg does not own
// (kube-proxy's 0x4000, say): those packets walk, and leave with the mark they came with.
//
// Counts grow with identities and local endpoints: a peer address is one element (a new
// replica of an existing identity is that one element), and the verdict maps hold each
// identity's verdicts for this node's endpoints' addresses.

import type { DpEndpoint, EndpointId, PolicyId, SetId, SetMember } from "../../engine/index.ts";
import { type Address, type IpFamily, parseAddress } from "../../net/cidr.ts";
import type { ElementObject, Transaction } from "../../nft/index.ts";
import {
  and,
  anon,
  concat,
  element,
  eq,
  ip,
  ip6,
  markFromMap,
  meta,
  ne,
  range,
  type Stmt,
  setMark,
  th,
  verdict,
  vmap,
} from "../../nft/index.ts";
import type { Direction } from "../../policy/index.ts";
import { getOrCreate } from "../../util/maps.ts";
import { MARK_ALLOW, MARK_EGRESS, MARK_HOST_ALLOWED } from "./enforcement.ts";
import { type Identity, IdentityIndex } from "./identities.ts";
import {
  addressVerdicts,
  FAST_PROTOCOLS,
  matchesLocalNets,
  type PortVerdict,
  type VerdictPorts,
  type VerdictView,
} from "./identity-verdicts.ts";
import { DECISION_TAG, MarkNumbers } from "./mark-numbers.ts";
import {
  decisionMap,
  endpointChain,
  IDENTITY_ALLOW,
  identityLookupChain,
  identityMap,
  policyChain,
  type VerdictMapKind,
  verdictMap,
} from "./names.ts";
import { bySet } from "./set-elements.ts";

const FAMILIES: IpFamily[] = [4, 6];
const DIRECTIONS: Direction[] = ["ingress", "egress"];
const addressType = (f: IpFamily) => (f === 4 ? "ipv4_addr" : "ipv6_addr");
const header = (f: IpFamily) => (f === 4 ? ip : ip6);

/** What the fast path reads from the renderer. */
export interface FastPathSource extends VerdictView {
  endpoints(): ReadonlyMap<EndpointId, DpEndpoint>;
  /** The addresses an endpoint alone claims (shared ones take the chains). */
  ownAddresses(endpoint: DpEndpoint): readonly string[];
}

/**
 * One verdict element of an identity, as kept between batches: `direction address protocol
 * ports` (`from-to` or `rest`) -> the chain its decision jumps to. Text and a shared chain name rather than element
 * objects: at 100k pods a node keeps 280k of them (about 0.8 KiB per cluster pod as objects).
 */
type Verdicts = Map<string, string>;

// Joined, not concatenated: the texts are kept (280k of them at 100k pods), and V8 keeps a
// concatenation as a tree of its parts, about 150 bytes more each than the flat string a join
// makes (the agent's heap 4.32 -> 4.70 KiB per cluster pod when they stopped being split).
const verdictText = (d: Direction, address: string, protocol: string, ports: VerdictPorts) =>
  [d, address, protocol, ports === "rest" ? ports : `${ports.from}-${ports.to}`].join(" ");

/** One own address of an endpoint in one direction, and the verdicts it shares (if it does). */
interface LocalSide {
  readonly endpoint: DpEndpoint;
  readonly d: Direction;
  readonly local: Address;
  readonly byPeer: WeakMap<Identity, readonly PortVerdict[]> | undefined;
}
const NO_SIDES: readonly LocalSide[] = [];

/** A verdict's element in its map: single ports, true ranges and each protocol's other ports. */
function verdictElement(
  d: Direction,
  family: IpFamily,
  key: { id: number; address: string; protocol: string; ports: VerdictPorts },
  decision: number,
): ElementObject {
  const map = (kind: VerdictMapKind) => verdictMap(d, family, kind);
  const { id, address, protocol, ports } = key;
  if (ports === "rest") return element(map("rest"), [id, address, protocol], decision);
  const { from, to } = ports;
  if (from === to) return element(map("port"), [id, address, protocol, from], decision);
  return element(map("range"), [id, address, protocol, range(from, to)], decision);
}

/** `from-to` of a verdict's text back as ports. */
function portSpan(text: string): { from: number; to: number } {
  const [from, to] = text.split("-").map(Number) as [number, number];
  return { from, to };
}

/** The decision that every tier let the packet through (`jump id-allow`), in both maps. */
const ALLOWED = DECISION_TAG;

/** The mark bits an endpoint chain leaves for the lookup: EGRESS on egress, else none. */
const directionBits = (d: Direction) => (d === "egress" ? MARK_EGRESS : 0);

const peerField = (d: Direction) => (d === "ingress" ? "saddr" : "daddr");
const localField = (d: Direction) => (d === "ingress" ? "daddr" : "saddr");

/**
 * A lookup chain's rules: the peer's identity number into the mark; the verdict maps, keyed by
 * that number and the local side, put the decision's number there; the decision's jump; then
 * the mark as it came (`restore`) plus the ALLOW a decided Allow set. An Allow's chain sets
 * ALLOW and returns here; a Deny's drops.
 */
function lookupRules(d: Direction, restore: number): Stmt[][] {
  const rules = FAMILIES.map((f) => [markFromMap(header(f)[peerField(d)], identityMap(f))]);
  // Each lookup only while no earlier one found a decision (an identity has no TAG bit).
  const undecided = eq(and(meta.mark, DECISION_TAG), 0);
  for (const f of FAMILIES) {
    const local = header(f)[localField(d)];
    const ported = concat(meta.mark, local, meta.l4proto, th.dport);
    const map = (kind: VerdictMapKind) => verdictMap(d, f, kind);
    rules.push([markFromMap(ported, map("port"))]);
    rules.push([undecided, markFromMap(ported, map("range"))]);
    rules.push([undecided, markFromMap(concat(meta.mark, local, meta.l4proto), map("rest"))]);
  }
  rules.push([vmap(meta.mark, decisionMap(d))]);
  rules.push([setMark(restore, ~MARK_ALLOW >>> 0)]);
  return rules;
}

export class FastPath {
  readonly #identities = new IdentityIndex();
  /** identity key -> endpoint -> its elements in the verdict maps, by text. */
  readonly #verdicts = new Map<string, Map<EndpointId, Verdicts>>();
  readonly #identityNumbers = new MarkNumbers(0);
  readonly #decisionNumbers = new MarkNumbers(DECISION_TAG);
  /**
   * Verdicts by endpoint chain and family, then local and peer identity (`#verdictsOf`);
   * "per-address" for a chain whose rules match the local side by CIDR.
   */
  readonly #shared = new Map<
    string,
    WeakMap<Identity, WeakMap<Identity, readonly PortVerdict[]>> | "per-address"
  >();
  /** Policy chain -> how many verdict elements decide by it (its decision element's life). */
  readonly #decisionUses = new Map<string, number>();

  constructor(private readonly source: FastPathSource) {}

  member(set: SetId, m: SetMember, on: boolean): void {
    this.#identities.member(set, m, on);
  }

  removeSet(set: SetId): void {
    this.#identities.removeSet(set);
  }

  /** The maps and the chains every full table has, before any rule refers to them. */
  static declare(tx: Transaction): void {
    for (const f of FAMILIES) {
      tx.add({ kind: "map", name: identityMap(f), type: [addressType(f)], value: "mark" });
    }
    tx.add({ kind: "chain", name: IDENTITY_ALLOW });
    tx.add({
      kind: "rule",
      chain: IDENTITY_ALLOW,
      body: [setMark(MARK_ALLOW, MARK_ALLOW), verdict.return],
    });
    for (const d of DIRECTIONS) {
      for (const f of FAMILIES) {
        const map = (kind: VerdictMapKind) => verdictMap(d, f, kind);
        const ported = ["mark", addressType(f), "inet_proto", "inet_service"] as const;
        tx.add({ kind: "map", name: map("port"), type: [...ported], value: "mark" });
        tx.add({
          kind: "map",
          name: map("range"),
          type: [...ported],
          value: "mark",
          flags: ["interval"],
        });
        tx.add({
          kind: "map",
          name: map("rest"),
          type: ["mark", addressType(f), "inet_proto"],
          value: "mark",
        });
      }
      tx.add({ kind: "map", name: decisionMap(d), type: ["mark"], value: "verdict" });
      tx.add(element(decisionMap(d), [ALLOWED], verdict.jump(IDENTITY_ALLOW)));
      const chain = identityLookupChain(d);
      const held = identityLookupChain(d, true);
      const bits = directionBits(d);
      tx.add({ kind: "chain", name: chain });
      tx.add({ kind: "chain", name: held });
      const rules: Stmt[][] = [
        // Once here rather than in every endpoint chain: each rule with a literal set is an
        // anonymous set in the kernel, and libnftables lists every set of the table before each
        // transaction (1,000 endpoint chains: about 0.5 ms of every commit).
        [ne(meta.l4proto, anon(...FAST_PROTOCOLS.map((p) => p.name))), verdict.return],
        // A bit microseg does not own would be lost in the mark's reuse: such packets walk.
        [ne(and(meta.mark, ~MARK_HOST_ALLOWED >>> 0), bits), verdict.return],
        [eq(and(meta.mark, MARK_HOST_ALLOWED), MARK_HOST_ALLOWED), verdict.goto(held)],
        ...lookupRules(d, bits),
      ];
      for (const body of rules) tx.add({ kind: "rule", chain, body });
      for (const body of lookupRules(d, bits | MARK_HOST_ALLOWED))
        tx.add({ kind: "rule", chain: held, body });
    }
  }

  /**
   * Writes the batch's changes: new identities' objects, verdict elements of new identities
   * and of the `dirty` endpoints ("all" after a full render or a prefix change), the decision
   * elements they need or no longer need, peer addresses moving between identities, and the
   * objects of identities that are gone.
   */
  sync(tx: Transaction, dirty: ReadonlySet<EndpointId> | "all"): void {
    const changes = this.#identities.flush();
    for (const identity of changes.added) this.#identityNumbers.acquire(identity.key);
    const added = new Set(changes.added.map((i) => i.key));
    const deleted: ElementObject[] = [];
    const written: ElementObject[] = [];
    const endpoints = this.source.endpoints();
    // Each dirty endpoint's local side once, not once per identity: a local pod's batch meets
    // every identity of the cluster, and what it allocated per identity was most of a pod
    // event's garbage.
    const sides = new Map<EndpointId, LocalSide[]>();
    const sideOf = (id: EndpointId): readonly LocalSide[] => {
      const endpoint = endpoints.get(id);
      if (!endpoint) return NO_SIDES;
      return getOrCreate(sides, id, () => this.#localSides(endpoint));
    };
    for (const identity of this.#identities.identities()) {
      const all = dirty === "all" || added.has(identity.key);
      const stored = this.#verdicts.get(identity.key);
      const ids = all ? new Set([...endpoints.keys(), ...(stored?.keys() ?? [])]) : dirty;
      for (const id of ids) this.#recompute(identity, id, sideOf(id), deleted, written);
    }
    // A gone identity's verdict elements go (its number is released last, so no identity of
    // this batch has it yet); their decisions lose the uses.
    for (const identity of changes.removed) {
      for (const verdicts of this.#verdicts.get(identity.key)?.values() ?? []) {
        for (const [text, chain] of verdicts)
          deleted.push(this.#deletedVerdict(identity, text, chain));
      }
      this.#verdicts.delete(identity.key);
    }
    const { born, dead } = this.#decisionChanges();
    for (const el of bySet(born)) tx.add(el);
    for (const el of bySet(deleted)) tx.delete(el);
    for (const el of bySet(written)) tx.add(el);
    // Peer addresses leave their identity before joining another.
    const left: ElementObject[] = [];
    const joined: ElementObject[] = [];
    for (const move of changes.moves) {
      if (move.from) left.push(this.#peerElement(move.address, move.from));
      if (move.to) joined.push(this.#peerElement(move.address, move.to));
    }
    for (const el of bySet(left)) tx.delete(el);
    for (const el of bySet(joined)) tx.add(el);
    // Decision elements go before the policy chains they jump to (the renderer removes those
    // after this).
    for (const el of bySet(dead)) tx.delete(el);
    this.#chains.clear();
    this.#changedDecisions.clear();
    for (const identity of changes.removed) this.#identityNumbers.release(identity.key);
  }

  /** Policy chain names, one string each for the verdicts one sync writes (then cleared). */
  readonly #chains = new Map<string, string>();
  /** Chains whose use count changed in this sync. */
  readonly #changedDecisions = new Set<string>();

  #policyChain(policy: PolicyId, d: Direction): string {
    const name = policyChain(policy, d);
    const known = this.#chains.get(name);
    if (known !== undefined) return known;
    this.#chains.set(name, name);
    return name;
  }

  /** Decision elements to add (a chain's first verdict) and to delete (its last one gone). */
  #decisionChanges(): { born: ElementObject[]; dead: ElementObject[] } {
    const born: ElementObject[] = [];
    const dead: ElementObject[] = [];
    for (const chain of this.#changedDecisions) {
      const uses = this.#decisionUses.get(chain) ?? 0;
      const known = this.#decisionKnown.has(chain);
      if (uses > 0 && !known) {
        this.#decisionKnown.add(chain);
        born.push(this.#decisionElement(chain, this.#decisionNumbers.acquire(chain)));
      } else if (uses === 0 && known) {
        this.#decisionKnown.delete(chain);
        this.#decisionUses.delete(chain);
        dead.push(this.#decisionElement(chain, this.#decisionNumbers.get(chain)));
        this.#decisionNumbers.release(chain);
      } else if (uses === 0) {
        this.#decisionUses.delete(chain);
        this.#decisionNumbers.release(chain);
      }
    }
    return { born, dead };
  }

  /** Chains that have a decision element in the table. */
  readonly #decisionKnown = new Set<string>();

  #decisionElement(chain: string, number: number): ElementObject {
    const d: Direction = chain.endsWith("-out") ? "egress" : "ingress";
    return element(decisionMap(d), [number], verdict.jump(chain));
  }

  #stored(identity: Identity): Map<EndpointId, Verdicts> {
    let m = this.#verdicts.get(identity.key);
    if (!m) {
      m = new Map();
      this.#verdicts.set(identity.key, m);
    }
    return m;
  }

  /** A stored verdict's element, to delete: its decision loses the use. */
  #deletedVerdict(identity: Identity, text: string, chain: string): ElementObject {
    const [d, address, protocol, span] = text.split(" ") as [Direction, string, string, string];
    const ports: VerdictPorts = span === "rest" ? "rest" : portSpan(span);
    const id = this.#identityNumbers.get(identity.key);
    const family: IpFamily = address.includes(":") ? 6 : 4;
    return verdictElement(d, family, { id, address, protocol, ports }, this.#use(chain, -1));
  }

  /** Counts a use of the chain's decision (`uses` -1: one fewer); its number. */
  #use(chain: string, uses: 1 | -1): number {
    if (chain === IDENTITY_ALLOW) return ALLOWED;
    this.#decisionUses.set(chain, (this.#decisionUses.get(chain) ?? 0) + uses);
    this.#changedDecisions.add(chain);
    return this.#decisionNumbers.acquire(chain);
  }

  /**
   * The endpoint's verdicts against `identity` now, against what the table holds: elements
   * that changed go to `deleted` and `written`.
   */
  #recompute(
    identity: Identity,
    id: EndpointId,
    sides: readonly LocalSide[],
    deleted: ElementObject[],
    written: ElementObject[],
  ): void {
    const stored = this.#verdicts.get(identity.key);
    const before = stored?.get(id);
    const number = this.#identityNumbers.get(identity.key);
    let after: Verdicts | undefined;
    for (const side of sides) {
      for (const v of this.#verdictsOf(side, identity)) {
        const text = verdictText(side.d, side.local.text, v.protocol.name, v.ports);
        const chain =
          v.decision === "allowed" ? IDENTITY_ALLOW : this.#policyChain(v.decision.policy, side.d);
        after ??= new Map();
        if (after.has(text)) continue;
        after.set(text, chain);
        if (before?.get(text) === chain) continue;
        const key = {
          id: number,
          address: side.local.text,
          protocol: v.protocol.name,
          ports: v.ports,
        };
        written.push(verdictElement(side.d, side.local.family, key, this.#use(chain, 1)));
      }
    }
    if (after) (stored ?? this.#stored(identity)).set(id, after);
    else stored?.delete(id);
    if (!before) return;
    for (const [text, chain] of before) {
      if (after?.get(text) !== chain) deleted.push(this.#deletedVerdict(identity, text, chain));
    }
  }

  /**
   * An endpoint's own addresses, each with a direction and where its verdicts are shared:
   * computed once for every address with the same identity behind the same endpoint chain
   * (replicas: a new one costs lookups, not tier walks). Not shared when the address has no
   * identity (a prefix covers it) or a rule matches the local side by CIDR; forgotten when a
   * policy changes (`rulesChanged`).
   */
  #localSides(endpoint: DpEndpoint): LocalSide[] {
    const sides: LocalSide[] = [];
    const locals = this.source.ownAddresses(endpoint).map((text) => {
      const local = parseAddress(text);
      return { local, own: this.#identities.identityOf(local.text) };
    });
    for (const d of DIRECTIONS) {
      for (const { local, own } of locals) {
        let byPeer: WeakMap<Identity, readonly PortVerdict[]> | undefined;
        if (own) {
          const key = `${endpointChain(endpoint, d)} ${local.family}`;
          const shared = getOrCreate(this.#shared, key, () =>
            matchesLocalNets(endpoint, d, this.source) ? "per-address" : new WeakMap(),
          );
          if (shared !== "per-address") byPeer = getOrCreate(shared, own, () => new WeakMap());
        }
        sides.push({ endpoint, d, local, byPeer });
      }
    }
    return sides;
  }

  #verdictsOf(side: LocalSide, peer: Identity): readonly PortVerdict[] {
    const known = side.byPeer?.get(peer);
    if (known) return known;
    const verdicts = addressVerdicts(side.endpoint, side.d, side.local, peer, this.source);
    side.byPeer?.set(peer, verdicts);
    return verdicts;
  }

  /** Policies changed: verdicts computed before may not hold. */
  rulesChanged(): void {
    this.#shared.clear();
  }

  #peerElement(address: Address, identity: Identity): ElementObject {
    return element(
      identityMap(address.family),
      [address.text],
      this.#identityNumbers.get(identity.key),
    );
  }
}
