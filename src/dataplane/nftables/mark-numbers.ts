// Numbers the fast path writes into the packet mark while it looks a connection up: a peer
// identity's number (the value of `ids4`/`ids6`) and a decision's number (the value of the
// verdict maps, which `decide-in`/`decide-out` turn into a jump to the deciding chain).
//
// A number never has a bit of MARK_BITS, MARK_EGRESS or MARK_HOST_ALLOWED (0xf0000): the
// lookup chain keeps the ALLOW bit a decision's chain set and rebuilds the others from
// constants, so an identity number must not read as ALLOW. Decisions have bit 31 set and
// identities do not, so an identity left in the mark (no verdict element) is never a decision.
// Numbers come from a hash of the key, probing on for a free one: the same key gets the same
// number on every node and after restarts unless two keys collide.

import { createHash } from "node:crypto";

/** 2^27 numbers in bits 0-15 and 20-30. */
const SPACE = 2 ** 27;
/** Bit 31: a decision, never an identity. */
export const DECISION_TAG = 0x80000000;

/** The mark bits of number `n` (0 < n < SPACE): bits 16-19 skipped. */
const encode = (n: number): number => ((n & 0xffff) | ((n >>> 16) << 20)) >>> 0;

const start = (key: string): number =>
  (createHash("sha256").update(key).digest().readUInt32BE(0) % (SPACE - 1)) + 1;

export class MarkNumbers {
  readonly #byKey = new Map<string, number>();
  readonly #used = new Set<number>();

  constructor(private readonly tag: 0 | typeof DECISION_TAG) {}

  /** The key's mark value, given one if it has none. */
  acquire(key: string): number {
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    if (this.#used.size >= SPACE - 1) throw new Error("fast path: every mark number is in use");
    let n = start(key);
    while (this.#used.has(n)) n = (n % (SPACE - 1)) + 1;
    this.#used.add(n);
    const value = (this.tag | encode(n)) >>> 0;
    this.#byKey.set(key, value);
    return value;
  }

  /** The key's mark value; it must have one. */
  get(key: string): number {
    const value = this.#byKey.get(key);
    if (value === undefined) throw new Error(`fast path: no mark number for ${key}`);
    return value;
  }

  release(key: string): void {
    const value = this.#byKey.get(key);
    if (value === undefined) return;
    this.#byKey.delete(key);
    const bits = value & ~DECISION_TAG;
    this.#used.delete((bits & 0xffff) | ((bits >>> 20) << 16));
  }
}
