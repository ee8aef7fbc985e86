// Peer identities for the verdict-map fast path, as Cilium's: addresses that no rule can tell
// apart share one identity, so a new replica is one map element and verdicts are computed per
// identity, never per address pair.
//
// An address's identity is its membership signature: the address and node sets holding it, and
// the (named-port set, protocol, port) triples of its named-port elements. Replicas (same labels,
// same ports) share it. Only addresses no prefix member covers get one: a prefix (a network set,
// even a /32) would make a set hold an address that its signature does not name. Every address
// of one identity is then in exactly the same sets, which is what makes an identity's verdict
// exact for each of its addresses.

import type { SetId, SetMember } from "../../engine/index.ts";
import { type Address, type Cidr, cidrContains } from "../../net/cidr.ts";
import { protocolNumber } from "../../nft/index.ts";
import { getOrCreate } from "../../util/maps.ts";

export interface Identity {
  /** The signature's canonical text; equal signatures are one identity. */
  readonly key: string;
  /** Address and node sets holding its addresses. */
  readonly sets: ReadonlySet<SetId>;
  /** `set|protocol number|port` of its named-port elements. */
  readonly namedPorts: ReadonlySet<string>;
  /** The ports of those elements, for splitting port intervals. */
  readonly ports: readonly number[];
}

export const namedPortToken = (set: SetId, protocol: number, port: number): string =>
  `${set}|${protocol}|${port}`;

/**
 * One address: its memberships (small arrays replaced on change, so each is at its exact length:
 * two Sets per address were a third of the renderer's memory at 100k pods, and an array grown by
 * `push` reserves 17 slots) and the identity it holds since the last flush. Kept while it has
 * either.
 */
interface AddressMemberships {
  readonly address: Address;
  sets: readonly SetId[];
  namedPorts: readonly string[];
  identity: Identity | undefined;
}

const NONE: readonly never[] = [];

/** The list with `item` in (`on`) or out, the same array when nothing changes. */
function toggled<T>(list: readonly T[], item: T, on: boolean): readonly T[] {
  const i = list.indexOf(item);
  if (on === i >= 0) return list;
  // concat and slice allocate exactly what they return.
  if (on) return list.concat([item]);
  return list.length === 1 ? NONE : list.slice(0, i).concat(list.slice(i + 1));
}

/** The set a named-port token names (a set id may itself contain `|`). */
const tokenSet = (token: string): string =>
  token.slice(0, token.lastIndexOf("|", token.lastIndexOf("|") - 1));

/** An address whose identity changed in a batch (either side may be none). */
export interface IdentityMove {
  readonly address: Address;
  readonly from: Identity | undefined;
  readonly to: Identity | undefined;
}

export interface IdentityChanges {
  readonly moves: readonly IdentityMove[];
  /** Identities that got their first address. */
  readonly added: readonly Identity[];
  /** Identities that lost their last address. */
  readonly removed: readonly Identity[];
}

/** The signature's canonical text: what names an identity. */
const signatureOf = (m: AddressMemberships): string =>
  JSON.stringify([[...m.sets].sort(), [...m.namedPorts].sort()]);

function identityOf(m: AddressMemberships, key: string): Identity {
  const sets = [...m.sets].sort();
  const namedPorts = [...m.namedPorts].sort();
  return {
    key,
    sets: new Set(sets),
    namedPorts: new Set(namedPorts),
    ports: [...new Set(namedPorts.map((t) => Number(t.slice(t.lastIndexOf("|") + 1))))],
  };
}

export class IdentityIndex {
  readonly #addresses = new Map<string, AddressMemberships>();
  /** Prefix members of every set, counted, for the coverage check. */
  readonly #prefixes = new Map<string, { readonly cidr: Cidr; count: number }>();
  /** Each set's prefix members, so a removed set takes them along (addresses are scanned). */
  readonly #setPrefixes = new Map<SetId, Map<string, SetMember>>();
  readonly #identities = new Map<string, { readonly identity: Identity; addresses: number }>();
  #touched = new Set<string>();
  #prefixesChanged = false;

  /** Records a member entering (`on`) or leaving a set. */
  member(set: SetId, m: SetMember, on: boolean): void {
    if (m.kind === "prefix") {
      const mine = getOrCreate(this.#setPrefixes, set, () => new Map<string, SetMember>());
      if (on) mine.set(m.cidr.text, m);
      else if (mine.delete(m.cidr.text) && mine.size === 0) this.#setPrefixes.delete(set);
      const held = this.#prefixes.get(m.cidr.text);
      if (on) {
        if (held) held.count++;
        else this.#prefixes.set(m.cidr.text, { cidr: m.cidr, count: 1 });
      } else if (held && --held.count === 0) this.#prefixes.delete(m.cidr.text);
      this.#prefixesChanged = true;
      return;
    }
    const text = m.address.text;
    const entry = getOrCreate(this.#addresses, text, () => ({
      address: m.address,
      sets: NONE,
      namedPorts: NONE,
      identity: undefined,
    }));
    if (m.kind === "address") entry.sets = toggled(entry.sets, set, on);
    else {
      const token = namedPortToken(set, protocolNumber(nftName(m.protocol))!, m.port);
      entry.namedPorts = toggled(entry.namedPorts, token, on);
    }
    this.#touched.add(text);
  }

  /** A set is gone with all its members (the engine does not list them once more). */
  removeSet(set: SetId): void {
    for (const m of this.#setPrefixes.get(set)?.values() ?? []) this.member(set, m, false);
    for (const [text, entry] of this.#addresses) {
      const before = entry.sets.length + entry.namedPorts.length;
      entry.sets = toggled(entry.sets, set, false);
      for (const token of entry.namedPorts)
        if (tokenSet(token) === set) entry.namedPorts = toggled(entry.namedPorts, token, false);
      if (entry.sets.length + entry.namedPorts.length !== before) this.#touched.add(text);
    }
  }

  /** The identities of the addresses the recorded changes touched, and which came and went. */
  flush(): IdentityChanges {
    const touched = this.#prefixesChanged ? new Set(this.#addresses.keys()) : this.#touched;
    this.#touched = new Set();
    this.#prefixesChanged = false;
    const moves: IdentityMove[] = [];
    const added: Identity[] = [];
    const removed: Identity[] = [];
    for (const text of [...touched].sort()) {
      const entry = this.#addresses.get(text);
      if (!entry) continue;
      const from = entry.identity;
      const member = entry.sets.length > 0 || entry.namedPorts.length > 0;
      // Replicas share an identity: the hash and sets are made once, for its first address.
      const key = member && !this.#covered(entry.address) ? signatureOf(entry) : undefined;
      const to =
        key === undefined
          ? undefined
          : (this.#identities.get(key)?.identity ?? identityOf(entry, key));
      if (!member) this.#addresses.delete(text);
      if (from?.key === to?.key) continue;
      entry.identity = to;
      if (from) {
        const count = this.#identities.get(from.key)!;
        if (--count.addresses === 0) {
          this.#identities.delete(from.key);
          removed.push(from);
        }
      }
      if (to) {
        const count = this.#identities.get(to.key);
        if (count) count.addresses++;
        else {
          this.#identities.set(to.key, { identity: to, addresses: 1 });
          added.push(to);
        }
      }
      moves.push({ address: entry.address, from, to });
    }
    // An identity that left and came back in one batch is neither added nor removed.
    const back = new Set(added.map((i) => i.key));
    const gone = new Set(removed.map((i) => i.key));
    return {
      moves,
      added: added.filter((i) => !gone.has(i.key)),
      removed: removed.filter((i) => !back.has(i.key)),
    };
  }

  /** The address's identity since the last flush, if it has one. */
  identityOf(address: string): Identity | undefined {
    return this.#addresses.get(address)?.identity;
  }

  *identities(): IterableIterator<Identity> {
    for (const h of this.#identities.values()) yield h.identity;
  }

  #covered(address: Address): boolean {
    for (const { cidr } of this.#prefixes.values()) if (cidrContains(cidr, address)) return true;
    return false;
  }
}

const nftName = (p: string | number): string | number =>
  typeof p === "number" ? p : p.toLowerCase();
