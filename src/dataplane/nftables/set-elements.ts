// Engine set members -> nft set elements, per address family, kept incrementally.
//
// An address set is two nft sets: its host addresses in a hash set, its prefixes (network sets,
// ipBlocks) in an interval set. Every `nft -f` that adds to an interval set first reads all of
// its elements back from the kernel (to check overlaps): with pods in an interval set, one pod
// event costs ~300 ms at 70k members; in a hash set it costs the same as in an empty one.
// Pods churn; prefixes rarely do.
//
// An interval set refuses overlapping elements, and prefixes may nest (two network sets); they
// either nest or are disjoint, so the interval set holds the prefixes no other one covers.

import type { SetMember } from "../../engine/index.ts";
import {
  type Address,
  addressOf,
  type Cidr,
  cidrContains,
  firstOf,
  type IpFamily,
  isHostCidr,
  lastOf,
  parseCidr,
  parseExactCidr,
  rangeAsCidr,
  shortText,
} from "../../net/cidr.ts";
import { anon, type ElementObject, type Part, range, type Value } from "../../nft/index.ts";
import { getOrCreate } from "../../util/maps.ts";

export const familyOf = (address: string): IpFamily => (address.includes(":") ? 6 : 4);

/**
 * Element commands grouped by set, sets in order of first appearance: a transaction merges a
 * set's commands in a row into one. Only for commands whose order across sets does not matter
 * (all adds, or all deletes, of distinct keys).
 */
export function bySet(elements: readonly ElementObject[]): ElementObject[] {
  const groups = new Map<string, ElementObject[]>();
  for (const el of elements) getOrCreate(groups, el.set, () => []).push(el);
  return [...groups.values()].flat();
}

/** Element changes of one nft set, deletions first (an addition may overlap a deleted one). */
export interface ElementChanges {
  readonly deleted: Part[][];
  readonly added: Part[][];
}

interface Block {
  readonly cidr: Cidr;
  readonly first: bigint;
  readonly last: bigint;
  readonly text: string;
}

function blockOf(cidr: Cidr): Block {
  return { cidr, first: firstOf(cidr), last: lastOf(cidr), text: shortText(cidr) };
}

function block(text: string): Block {
  const cidr = parseExactCidr(text);
  if (!cidr) throw new Error(`${JSON.stringify(text)} is not an address or prefix`);
  return blockOf(cidr);
}

/** An address set's member as a block; a host address is the prefix of its full length. */
function memberBlock(m: SetMember): Block {
  if (m.kind === "prefix") return blockOf(m.cidr);
  if (m.kind === "address") return blockOf(parseCidr(m.address.text));
  throw new Error(`address sets hold addresses and prefixes, not ${m.kind} members`);
}

/** The texts of the blocks no other block covers (equal blocks count once). */
function uncovered(blocks: Iterable<Block>): Set<string> {
  const sorted = [...blocks].sort((a, b) =>
    a.first !== b.first ? (a.first < b.first ? -1 : 1) : a.cidr.prefix - b.cidr.prefix,
  );
  const out = new Set<string>();
  let coveredUpTo = -1n;
  for (const b of sorted) {
    if (b.first <= coveredUpTo) continue;
    out.add(b.text);
    coveredUpTo = b.last;
  }
  return out;
}

/**
 * `members` as an anonymous set's elements. nft merges the intervals of an anonymous set when it
 * builds it (198.18.0.0/29 and 198.18.0.8/30 list as 198.18.0.0-198.18.0.11), so they are written
 * merged: what is written is what reads back.
 */
export function mergedIntervals(members: readonly string[]): Part[] {
  const sorted = members.map(block).sort((a, b) => (a.first < b.first ? -1 : 1));
  const out: Part[] = [];
  let run: { family: IpFamily; from: bigint; to: bigint } | undefined;
  const flush = () => {
    if (!run) return;
    const exact = rangeAsCidr(run.family, run.from, run.to);
    out.push(
      exact
        ? shortText(exact)
        : range(addressOf(run.family, run.from).text, addressOf(run.family, run.to).text),
    );
  };
  for (const b of sorted) {
    if (run && run.family === b.cidr.family && b.first <= run.to + 1n) {
      if (b.last > run.to) run.to = b.last;
      continue;
    }
    flush();
    run = { family: b.cidr.family, from: b.first, to: b.last };
  }
  flush();
  return out;
}

/**
 * The right-hand side of a header match on these parts. A lone value is written as the range
 * from it to itself: nft 1.0.6 merges plain compares of neighbouring header fields into one
 * wider compare, and for `!=` that changes the meaning (`th sport != 1 th dport != 2` becomes
 * "not both"); a range compare is never merged.
 */
export function headerValue(parts: readonly Part[]): Value {
  if (parts.length > 1) return anon(...parts);
  const p = parts[0]!;
  return typeof p === "object" || String(p).includes("/") ? p : range(p, p);
}

/** Port ranges merged the same way: `80, 81, 8080-8180, 8080` -> `80-81, 8080-8180`. */
export function mergedPorts(ranges: readonly { from: number; to: number }[]): Part[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out.map((r) => (r.from === r.to ? r.from : range(r.from, r.to)));
}

export interface AddressChanges {
  /** Of the hash set of host addresses. */
  readonly hosts: ElementChanges;
  /** Of the interval set of prefixes. */
  readonly prefixes: ElementChanges;
}

const texts = (ts: Iterable<string>): Part[][] => [...ts].map((t) => [t]);

/** The members of one family of an address set, as a host set and a prefix set. */
export class AddressElements {
  /** Canonical host address -> the member spellings naming it. */
  readonly #hosts = new Map<string, number>();
  readonly #prefixes = new Map<string, { block: Block; count: number }>();
  /** The prefixes the interval set holds: those no other one covers. */
  #outer = new Set<string>();

  update(added: readonly SetMember[], removed: readonly SetMember[]): AddressChanges {
    const hosts = { deleted: [] as string[], added: [] as string[] };
    let prefixesChanged = false;
    for (const m of removed) {
      const b = memberBlock(m);
      if (isHostCidr(b.cidr)) {
        const n = (this.#hosts.get(b.text) ?? 0) - 1;
        if (n > 0) this.#hosts.set(b.text, n);
        else if (this.#hosts.delete(b.text)) hosts.deleted.push(b.text);
        continue;
      }
      const entry = this.#prefixes.get(b.text);
      if (!entry || --entry.count > 0) continue;
      this.#prefixes.delete(b.text);
      prefixesChanged = true;
    }
    for (const m of added) {
      const b = memberBlock(m);
      if (isHostCidr(b.cidr)) {
        const n = this.#hosts.get(b.text) ?? 0;
        this.#hosts.set(b.text, n + 1);
        if (n === 0) hosts.added.push(b.text);
        continue;
      }
      const entry = this.#prefixes.get(b.text);
      if (entry) entry.count++;
      else {
        this.#prefixes.set(b.text, { block: b, count: 1 });
        prefixesChanged = true;
      }
    }
    const prefixes = { deleted: [] as string[], added: [] as string[] };
    if (prefixesChanged) {
      const next = uncovered([...this.#prefixes.values()].map((e) => e.block));
      prefixes.deleted = [...this.#outer].filter((t) => !next.has(t));
      prefixes.added = [...next].filter((t) => !this.#outer.has(t));
      this.#outer = next;
    }
    return {
      hosts: { deleted: texts(hosts.deleted), added: texts(hosts.added) },
      prefixes: { deleted: texts(prefixes.deleted), added: texts(prefixes.added) },
    };
  }

  hostElements(): Part[][] {
    return texts(this.#hosts.keys());
  }

  prefixElements(): Part[][] {
    return texts(this.#outer);
  }

  /** Whether the address is a member: one of the hosts, or inside one of the prefixes. */
  contains(address: Address): boolean {
    if (this.#hosts.has(address.text)) return true;
    for (const { block: b } of this.#prefixes.values())
      if (cidrContains(b.cidr, address)) return true;
    return false;
  }

  /** Whether rules must consult the prefix set at all. */
  get hasPrefixes(): boolean {
    return this.#outer.size > 0;
  }
}

/** Address-port members of a named-port set, for an exact address . proto . port set. */
export class NamedPortElements {
  readonly #elements = new Map<string, Part[]>();
  /** Address text -> element texts of that address, for the ports one workload declares. */
  readonly #byAddress = new Map<string, Map<string, number>>();

  update(added: readonly SetMember[], removed: readonly SetMember[]): ElementChanges {
    const deleted: Part[][] = [];
    const addedParts: Part[][] = [];
    for (const m of removed) {
      const key = namedPortKey(m);
      const text = key.join(" . ");
      if (!this.#elements.delete(text)) continue;
      deleted.push(key);
      const mine = this.#byAddress.get(String(key[0]));
      mine?.delete(text);
      if (mine?.size === 0) this.#byAddress.delete(String(key[0]));
    }
    for (const m of added) {
      const key = namedPortKey(m);
      const text = key.join(" . ");
      if (this.#elements.has(text)) continue;
      this.#elements.set(text, key);
      getOrCreate(this.#byAddress, String(key[0]), () => new Map()).set(text, Number(key[2]));
      addedParts.push(key);
    }
    return { deleted, added: addedParts };
  }

  /** Whether `address . protocol . port` is an element (protocol in nft's spelling). */
  has(address: string, protocol: string | number, port: number): boolean {
    return this.#byAddress.get(address)?.has(`${address} . ${protocol} . ${port}`) ?? false;
  }

  /** The ports of the address's elements, any protocol. */
  portsOf(address: string): Iterable<number> {
    return this.#byAddress.get(address)?.values() ?? [];
  }

  elements(): Part[][] {
    return [...this.#elements.values()];
  }
}

/** 198.18.0.1 TCP 80 -> [198.18.0.1, tcp, 80]: nft protocol names are lower case. */
export function namedPortKey(m: SetMember): Part[] {
  if (m.kind !== "address-port")
    throw new Error(`named-port sets hold address-port members, not ${m.kind} members`);
  const proto = typeof m.protocol === "number" ? m.protocol : m.protocol.toLowerCase();
  return [m.address.text, proto, m.port];
}
