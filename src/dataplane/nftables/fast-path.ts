// The verdict-map fast path's objects and elements, kept incrementally beside the renderer's
// chains (see identity-verdicts.ts for what an element means).
//
//   endpoint chain:  jump ids-in           (egress: ids-out; one lookup chain for all endpoints)
//   ids-in:          ip saddr vmap @ids4   (peer address -> jump id-<identity>; egress: daddr)
//   id-<identity>:   ip daddr . meta l4proto . th dport vmap @v4-<identity>-in
//                    (egress, told by MARK_EGRESS: ip saddr ... vmap @v4-<identity>-out)
//                                                   (-> goto the deciding policy's chain)
//   no element anywhere: back in the endpoint chain, which walks its tiers as before.
//
// Counts grow with identities and local endpoints: a peer address is one element (a new
// replica of an existing identity is that one element), each identity has one chain and four
// maps, and an identity's maps hold its verdicts for this node's endpoints.

import type { DpEndpoint, EndpointId, PolicyId, SetId, SetMember } from "../../engine/index.ts";
import { type Address, type IpFamily, parseAddress } from "../../net/cidr.ts";
import type { ElementObject, Transaction } from "../../nft/index.ts";
import {
  and,
  concat,
  element,
  eq,
  ip,
  ip6,
  meta,
  range,
  setMark,
  th,
  verdict,
  vmap,
} from "../../nft/index.ts";
import type { Direction } from "../../policy/index.ts";
import { MARK_ALLOW, MARK_EGRESS } from "./enforcement.ts";
import { type Identity, IdentityIndex } from "./identities.ts";
import { identityVerdicts, type VerdictView } from "./identity-verdicts.ts";
import {
  IDENTITY_ALLOW,
  identityChain,
  identityLookupChain,
  identityMap,
  policyChain,
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
 * from to` -> the chain it goes to. Text and a shared chain name rather than element objects:
 * at 100k pods a node keeps 280k of them (about 0.8 KiB per cluster pod as objects).
 */
type Verdicts = Map<string, string>;

const verdictText = (d: Direction, address: string, protocol: string, from: number, to: number) =>
  `${d} ${address} ${protocol} ${from} ${to}`;

function verdictElement(identity: Identity, text: string, chain: string): ElementObject {
  const [d, address, protocol, from, to] = text.split(" ") as [
    Direction,
    string,
    string,
    string,
    string,
  ];
  const port = from === to ? Number(from) : range(Number(from), Number(to));
  const family: IpFamily = address.includes(":") ? 6 : 4;
  return element(
    verdictMap(identity.hash, d, family),
    [address, protocol, port],
    verdict.goto(chain),
  );
}

export class FastPath {
  readonly #identities = new IdentityIndex();
  /** identity key -> endpoint -> its elements in the identity's verdict maps, by text. */
  readonly #verdicts = new Map<string, Map<EndpointId, Verdicts>>();

  constructor(private readonly source: FastPathSource) {}

  member(set: SetId, m: SetMember, on: boolean): void {
    this.#identities.member(set, m, on);
  }

  removeSet(set: SetId): void {
    this.#identities.removeSet(set);
  }

  /** The maps and the chain every full table has, before any rule refers to them. */
  static declare(tx: Transaction): void {
    for (const f of FAMILIES) {
      tx.add({ kind: "map", name: identityMap(f), type: [addressType(f)], value: "verdict" });
    }
    for (const d of DIRECTIONS) {
      const chain = identityLookupChain(d);
      const peer = d === "ingress" ? "saddr" : "daddr";
      tx.add({ kind: "chain", name: chain });
      for (const f of FAMILIES)
        tx.add({ kind: "rule", chain, body: [vmap(header(f)[peer], identityMap(f))] });
    }
    tx.add({ kind: "chain", name: IDENTITY_ALLOW });
    tx.add({
      kind: "rule",
      chain: IDENTITY_ALLOW,
      body: [setMark(MARK_ALLOW, MARK_ALLOW), verdict.return],
    });
  }

  /**
   * Writes the batch's changes: new identities' objects, verdict elements of new identities
   * and of the `dirty` endpoints ("all" after a full render or a prefix change), peer
   * addresses moving between identities, and the objects of identities that are gone.
   */
  sync(tx: Transaction, dirty: ReadonlySet<EndpointId> | "all"): void {
    const changes = this.#identities.flush();
    for (const identity of changes.added) this.#declareIdentity(tx, identity);
    const added = new Set(changes.added.map((i) => i.key));
    const deleted: ElementObject[] = [];
    const written: ElementObject[] = [];
    const endpoints = this.source.endpoints();
    for (const identity of this.#identities.identities()) {
      const all = dirty === "all" || added.has(identity.key);
      const ids = all ? new Set([...endpoints.keys(), ...this.#stored(identity).keys()]) : dirty;
      for (const id of ids) {
        const { gone, come } = this.#recompute(identity, id, endpoints.get(id));
        deleted.push(...gone);
        written.push(...come);
      }
    }
    for (const el of bySet(deleted)) tx.delete(el);
    for (const el of bySet(written)) tx.add(el);
    // Peer addresses leave their identity before joining another; an identity that lost its
    // last address goes after its last peer element (its verdict elements go with its maps).
    const left: ElementObject[] = [];
    const joined: ElementObject[] = [];
    for (const move of changes.moves) {
      if (move.from) left.push(...this.#peerElements(move.address, move.from));
      if (move.to) joined.push(...this.#peerElements(move.address, move.to));
    }
    for (const el of bySet(left)) tx.delete(el);
    for (const el of bySet(joined)) tx.add(el);
    this.#chains.clear();
    for (const identity of changes.removed) this.#verdicts.delete(identity.key);
    for (const identity of changes.removed) this.#removeIdentity(tx, identity);
  }

  /** Policy chain names, one string each for the verdicts one sync writes (then cleared). */
  readonly #chains = new Map<string, string>();

  #policyChain(policy: PolicyId, d: Direction): string {
    const name = policyChain(policy, d);
    const known = this.#chains.get(name);
    if (known !== undefined) return known;
    this.#chains.set(name, name);
    return name;
  }

  #stored(identity: Identity): Map<EndpointId, Verdicts> {
    let m = this.#verdicts.get(identity.key);
    if (!m) {
      m = new Map();
      this.#verdicts.set(identity.key, m);
    }
    return m;
  }

  #recompute(
    identity: Identity,
    id: EndpointId,
    endpoint: DpEndpoint | undefined,
  ): { gone: ElementObject[]; come: ElementObject[] } {
    const stored = this.#stored(identity);
    const before: Verdicts = stored.get(id) ?? new Map();
    const after: Verdicts = new Map();
    if (endpoint) {
      const own = this.source.ownAddresses(endpoint).map(parseAddress);
      for (const d of DIRECTIONS) {
        for (const f of FAMILIES) {
          const mine = own.filter((a) => a.family === f);
          if (mine.length === 0) continue;
          for (const v of identityVerdicts(endpoint, d, mine, identity, this.source)) {
            const text = verdictText(d, v.address.text, v.protocol.name, v.from, v.to);
            const chain =
              v.decision === "allowed" ? IDENTITY_ALLOW : this.#policyChain(v.decision.policy, d);
            after.set(text, chain);
          }
        }
      }
    }
    if (after.size > 0) stored.set(id, after);
    else stored.delete(id);
    const gone: ElementObject[] = [];
    const come: ElementObject[] = [];
    for (const [text, chain] of before) {
      if (after.get(text) !== chain) gone.push(verdictElement(identity, text, chain));
    }
    for (const [text, chain] of after) {
      if (before.get(text) !== chain) come.push(verdictElement(identity, text, chain));
    }
    return { gone, come };
  }

  #peerElements(address: Address, identity: Identity): ElementObject[] {
    return [
      element(
        identityMap(address.family),
        [address.text],
        verdict.jump(identityChain(identity.hash)),
      ),
    ];
  }

  #declareIdentity(tx: Transaction, identity: Identity): void {
    const chain = identityChain(identity.hash);
    for (const d of DIRECTIONS) {
      for (const f of FAMILIES) {
        tx.add({
          kind: "map",
          name: verdictMap(identity.hash, d, f),
          type: [addressType(f), "inet_proto", "inet_service"],
          value: "verdict",
          flags: ["interval"],
        });
      }
    }
    tx.add({ kind: "chain", name: chain });
    for (const d of DIRECTIONS) {
      // The endpoint chain said which direction it judges: the local address is the other end.
      const egress = eq(and(meta.mark, MARK_EGRESS), d === "egress" ? MARK_EGRESS : 0);
      const local = d === "ingress" ? "daddr" : "saddr";
      for (const f of FAMILIES) {
        const key = concat(header(f)[local], meta.l4proto, th.dport);
        tx.add({ kind: "rule", chain, body: [egress, vmap(key, verdictMap(identity.hash, d, f))] });
      }
    }
  }

  #removeIdentity(tx: Transaction, identity: Identity): void {
    const chain = identityChain(identity.hash);
    tx.flush({ kind: "chain", name: chain }).delete({ kind: "chain", name: chain });
    for (const d of DIRECTIONS) {
      for (const f of FAMILIES) tx.delete({ kind: "map", name: verdictMap(identity.hash, d, f) });
    }
  }
}
