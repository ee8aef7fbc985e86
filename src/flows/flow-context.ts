// What records are enriched against: the latest resources as a policy world (for the deciding
// policies, implicit-deny attribution and the staged verdict) and the address history (who held
// an address when). Fed the same resource events as the engine, each batch stamped with the time
// the node learnt of it.
//
// Incremental, so that pod churn costs O(change) at any cluster size: pods and workload endpoints
// (the address holders, nearly every object of a large cluster) are derived one at a time against
// the world and never enter it; the world holds the rest (policies, tiers, namespaces, service
// accounts, nodes, services, network sets, host endpoints) and is rebuilt only when one of those
// changes, with the holders of a namespace whose labels (or service accounts) changed derived
// again. The evaluator never asks the world for a pod: flows carry their endpoints.
import { type Resource, type ResourceEvent, resourceKey } from "../model/index.ts";
import { buildWorldWith, type Endpoint, type World, type WorldBuild } from "../policy/index.ts";
import { getOrCreate } from "../util/maps.ts";
import { AddressHistory } from "./address-history.ts";

/** Kinds derived one at a time, outside the world. */
const HOLDER_KINDS: ReadonlySet<string> = new Set(["Pod", "WorkloadEndpoint"]);
/** Kinds whose change alters how the holders of their namespace derive (labels they inherit). */
const NAMESPACE_INPUTS: ReadonlySet<string> = new Set(["Namespace", "ServiceAccount"]);
/** Claimant keys of the world's own endpoints (host endpoints) start with it; no key does. */
const WORLD = "\0";

interface Claim {
  readonly claimant: string;
  readonly ep: Endpoint;
}

export class FlowContext {
  readonly history = new AddressHistory();
  /** Pods and workload endpoints, and everything else, by resource key. */
  readonly #holders = new Map<string, Resource>();
  readonly #inputs = new Map<string, Resource>();
  /** Holder keys per namespace: derived again when the namespace's labels change. */
  readonly #byNamespace = new Map<string, Set<string>>();
  /**
   * Who claims each address (a holder's key, or WORLD and an endpoint id) and as what: nearly
   * always one claim, so a small array rather than a map per address (heap at 100k pods).
   */
  readonly #claims = new Map<string, Claim[]>();
  /** The endpoint each claimant claims its addresses as, to withdraw them when it changes. */
  readonly #claimed = new Map<string, Endpoint>();
  #worldClaimants: readonly string[] = [];
  #build: WorldBuild = buildWorldWith([]);

  get world(): World {
    return this.#build.world;
  }

  /** Applies one batch; returns the kinds it changed. */
  apply(events: readonly ResourceEvent[], time: number): ReadonlySet<string> {
    const kinds = new Set<string>();
    const holders = new Set<string>();
    const namespaces = new Set<string>();
    for (const e of events) {
      const key = e.type === "upsert" ? resourceKey(e.resource) : e.key;
      const before = this.#holders.get(key) ?? this.#inputs.get(key);
      const r = e.type === "upsert" ? e.resource : before;
      if (!r) continue;
      kinds.add(r.kind);
      const into = HOLDER_KINDS.has(r.kind) ? this.#holders : this.#inputs;
      if (e.type === "upsert") into.set(key, r);
      else into.delete(key);
      if (into === this.#holders) {
        holders.add(key);
        const ns = r.metadata.namespace ?? "";
        if (e.type === "upsert") getOrCreate(this.#byNamespace, ns, () => new Set()).add(key);
        else {
          const keys = this.#byNamespace.get(ns);
          if (keys?.delete(key) && keys.size === 0) this.#byNamespace.delete(ns);
        }
      } else if (r.kind === "Namespace") namespaces.add(r.metadata.name);
      else if (NAMESPACE_INPUTS.has(r.kind)) namespaces.add(r.metadata.namespace ?? "");
    }
    const changed = new Set<string>();
    if ([...kinds].some((k) => !HOLDER_KINDS.has(k))) {
      this.#build = buildWorldWith([...this.#inputs.values()]);
      for (const claimant of this.#worldClaimants) this.#claim(claimant, undefined, changed);
      const own = this.world.cluster.endpoints.filter((ep) => ep.addresses.length > 0);
      this.#worldClaimants = own.map((ep) => `${WORLD}${ep.id}`);
      for (const [i, ep] of own.entries()) this.#claim(this.#worldClaimants[i]!, ep, changed);
      for (const ns of namespaces) for (const k of this.#byNamespace.get(ns) ?? []) holders.add(k);
    }
    for (const key of holders) {
      const held = this.#holders.get(key);
      this.#claim(key, held && this.#build.entity(held), changed);
    }
    for (const address of changed) this.history.set(address, this.#owner(address), time);
    return kinds;
  }

  /** The resources of one kind as of the latest batch. */
  resourcesOfKind(kind: string): Resource[] {
    const from = HOLDER_KINDS.has(kind) ? this.#holders : this.#inputs;
    return [...from.values()].filter((r) => r.kind === kind);
  }

  /** The owner of an address at a time. */
  ownerAt(address: string, time: number): Endpoint | undefined {
    return this.history.ownerAt(address, time);
  }

  /** Replaces what `claimant` claims; host-network pods are their node, not an owner. */
  #claim(claimant: string, ep: Endpoint | undefined, changed: Set<string>): void {
    for (const { text } of this.#claimed.get(claimant)?.addresses ?? []) {
      const rest = this.#claims.get(text)?.filter((c) => c.claimant !== claimant) ?? [];
      if (rest.length > 0) this.#claims.set(text, rest);
      else this.#claims.delete(text);
      changed.add(text);
    }
    if (!ep || ep.hostNetwork || ep.addresses.length === 0) {
      this.#claimed.delete(claimant);
      return;
    }
    this.#claimed.set(claimant, ep);
    for (const { text } of ep.addresses) {
      getOrCreate(this.#claims, text, () => []).push({ claimant, ep });
      changed.add(text);
    }
  }

  /** Two claimants: the smallest id owns the address, as in the kernel. */
  #owner(address: string): Endpoint | undefined {
    let owner: Endpoint | undefined;
    for (const { ep } of this.#claims.get(address) ?? []) {
      if (!owner || ep.id < owner.id) owner = ep;
    }
    return owner;
  }
}
