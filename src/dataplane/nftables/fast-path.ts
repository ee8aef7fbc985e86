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

import type { DpEndpoint, EndpointId, SetId, SetMember } from "../../engine/index.ts";
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

const only = (el: ElementObject) => el.elements[0]!;
const elementText = (el: ElementObject) => `${el.set} ${JSON.stringify(only(el).key)}`;
const sameValue = (a: ElementObject, b: ElementObject) =>
  JSON.stringify(only(a).value) === JSON.stringify(only(b).value);

export class FastPath {
  readonly #identities = new IdentityIndex();
  /** identity key -> endpoint -> its elements in the identity's verdict maps, by text. */
  readonly #verdicts = new Map<string, Map<EndpointId, Map<string, ElementObject>>>();

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
    for (const identity of changes.removed) this.#verdicts.delete(identity.key);
    for (const identity of changes.removed) this.#removeIdentity(tx, identity);
  }

  #stored(identity: Identity): Map<EndpointId, Map<string, ElementObject>> {
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
    const before = stored.get(id) ?? new Map<string, ElementObject>();
    const after = new Map<string, ElementObject>();
    if (endpoint) {
      const own = this.source.ownAddresses(endpoint).map(parseAddress);
      for (const d of DIRECTIONS) {
        for (const f of FAMILIES) {
          const mine = own.filter((a) => a.family === f);
          if (mine.length === 0) continue;
          for (const v of identityVerdicts(endpoint, d, mine, identity, this.source)) {
            const el = element(
              verdictMap(identity.hash, d, f),
              [v.address.text, v.protocol.name, v.from === v.to ? v.from : range(v.from, v.to)],
              verdict.goto(
                v.decision === "allowed" ? IDENTITY_ALLOW : policyChain(v.decision.policy, d),
              ),
            );
            after.set(elementText(el), el);
          }
        }
      }
    }
    if (after.size > 0) stored.set(id, after);
    else stored.delete(id);
    const gone: ElementObject[] = [];
    const come: ElementObject[] = [];
    for (const [text, el] of before) {
      const now = after.get(text);
      if (!now || !sameValue(now, el)) gone.push(el);
    }
    for (const [text, el] of after) {
      const was = before.get(text);
      if (!was || !sameValue(was, el)) come.push(el);
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
