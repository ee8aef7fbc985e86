// Who held an address when: addresses are reused, so a record at time t is attributed to the
// owner at t, not to whoever holds the address when the record is read. Each address keeps its
// owners as intervals [from, to); the current one is open (to = Infinity).
import type { Endpoint } from "../policy/index.ts";

interface Tenure {
  readonly from: number;
  to: number;
  readonly owner: Endpoint;
  /** What makes two owners the same for attribution: identity, labels, ports, node. */
  readonly fingerprint: string;
}

export function ownerFingerprint(ep: Endpoint): string {
  return JSON.stringify([ep.kind, ep.id, ep.node ?? "", ep.labels, ep.ports]);
}

/** How long before its first known tenure a record is still given to the first owner. */
const EARLY_RECORD_MS = 2000;

export class AddressHistory {
  readonly #byAddress = new Map<string, Tenure[]>();

  /** The owner of `address` at `time`; undefined when nobody held it then. */
  ownerAt(address: string, time: number): Endpoint | undefined {
    const tenures = this.#byAddress.get(address);
    if (!tenures) return undefined;
    // Newest first: almost every record is about the present.
    for (let i = tenures.length - 1; i >= 0; i--) {
      const t = tenures[i]!;
      if (t.from <= time && time < t.to) return t.owner;
      if (t.to <= time) return undefined;
    }
    // Older than anything known: the first owner, rather than nothing, for packets logged just
    // before the agent learnt of the workload that sent them.
    const first = tenures[0]!;
    return first.from - time <= EARLY_RECORD_MS ? first.owner : undefined;
  }

  /**
   * Makes `owner` the holder of `address` from `time` on (undefined: nobody): a changed owner
   * ends the current tenure and starts a new one; an equal one (same fingerprint) keeps it.
   */
  set(address: string, owner: Endpoint | undefined, time: number): void {
    const tenures = this.#byAddress.get(address);
    const current = tenures?.at(-1);
    const open = current?.to === Infinity ? current : undefined;
    const fingerprint = owner && ownerFingerprint(owner);
    if (open && open.fingerprint === fingerprint) return;
    if (open) open.to = time;
    if (!owner || !fingerprint) return;
    const tenure = { from: time, to: Infinity, owner, fingerprint };
    if (tenures) tenures.push(tenure);
    else this.#byAddress.set(address, [tenure]);
  }

  /** Forgets tenures that ended before `time`; records older than that are no longer enriched. */
  prune(time: number): void {
    for (const [address, tenures] of this.#byAddress) {
      const keep = tenures.filter((t) => t.to >= time);
      if (keep.length === 0) this.#byAddress.delete(address);
      else if (keep.length !== tenures.length) this.#byAddress.set(address, keep);
    }
  }

  get size(): number {
    return this.#byAddress.size;
  }
}
