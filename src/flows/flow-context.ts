// What records are enriched against: the latest resources as a policy world (for the deciding
// policies, implicit-deny attribution and the staged verdict) and the address history (who held
// an address when). Fed the same resource events as the engine, each batch stamped with the time
// the node learnt of it. The world is rebuilt per batch (O(resources)); batches are coalesced
// upstream, and records only read it.
import { type Resource, type ResourceEvent, resourceKey } from "../model/index.ts";
import { buildWorld, type Endpoint, type World } from "../policy/index.ts";
import { AddressHistory } from "./address-history.ts";

export class FlowContext {
  readonly #resources = new Map<string, Resource>();
  readonly history = new AddressHistory();
  #world: World = buildWorld([]);

  get world(): World {
    return this.#world;
  }

  apply(events: readonly ResourceEvent[], time: number): void {
    for (const e of events) {
      if (e.type === "upsert") this.#resources.set(resourceKey(e.resource), e.resource);
      else this.#resources.delete(e.key);
    }
    this.#world = buildWorld([...this.#resources.values()]);
    this.history.update(ownersByAddress(this.#world), time);
  }

  /** The resources as of the latest batch. */
  resources(): Resource[] {
    return [...this.#resources.values()];
  }

  /** The owner of an address at a time. */
  ownerAt(address: string, time: number): Endpoint | undefined {
    return this.history.ownerAt(address, time);
  }
}

/** Workloads and host endpoints by address; host-network pods are their node, not an owner. */
function ownersByAddress(world: World): Map<string, Endpoint> {
  const owners = new Map<string, Endpoint>();
  for (const ep of world.cluster.endpoints) {
    if (ep.hostNetwork) continue;
    for (const a of ep.addresses) {
      // Two claimants: the smallest id owns the address, as in the kernel.
      const held = owners.get(a.text);
      if (!held || ep.id < held.id) owners.set(a.text, ep);
    }
  }
  return owners;
}
