// The bench's baseline for the flow context: the context as it was before it was incremental,
// rebuilding the whole world (every resource, every pod) and every address's owner on each
// batch, O(cluster) per batch. Same interface as FlowContext, so the Enricher reads either.
import { AddressHistory } from "../src/flows/address-history.ts";
import { type Resource, type ResourceEvent, resourceKey } from "../src/model/index.ts";
import { buildWorld, type Endpoint, type World } from "../src/policy/index.ts";

export class RebuildingFlowContext {
  readonly #resources = new Map<string, Resource>();
  readonly history = new AddressHistory();
  #owners = new Map<string, Endpoint>();
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
    const owners = new Map<string, Endpoint>();
    for (const ep of this.#world.cluster.endpoints) {
      if (ep.hostNetwork) continue;
      for (const a of ep.addresses) {
        const held = owners.get(a.text);
        if (!held || ep.id < held.id) owners.set(a.text, ep);
      }
    }
    for (const a of this.#owners.keys()) if (!owners.has(a)) this.history.set(a, undefined, time);
    for (const [a, ep] of owners) this.history.set(a, ep, time);
    this.#owners = owners;
  }

  ownerAt(address: string, time: number): Endpoint | undefined {
    return this.history.ownerAt(address, time);
  }
}
