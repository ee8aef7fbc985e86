// The incremental engine, wired in one place. Stages never construct each other:
//
//   resource events
//        |
//   InputStage ----------------------------+--------------------+
//        | endpoints, policies, tiers      | entities, nodes    |
//   PolicyMatcher (subject label index)    |                    |
//        | dirty endpoints                 |                    |
//   EndpointResolver (tiers x policies per endpoint)            |
//        | policy referenced / unreferenced                     |
//   RuleScanner (rules by address, set refcounts)               |
//        | set active / inactive           v                    |
//        +------------------------> SetMemberCalculator <-------+
//        |                                 | members added / removed
//   EventSequencer  <----------------------+
//        | deltas in dependency order
//   dataplane
import type { Endpoint } from "../policy/index.ts";
import { EndpointResolver } from "./endpoint-resolver.ts";
import { newEntityIndex } from "./entity-index.ts";
import type { HostInterfaces } from "./host-binding.ts";
import { InputStage, type ResourceEvent } from "./inputs.ts";
import { PolicyMatcher } from "./policy-matcher.ts";
import { RuleScanner } from "./rule-scanner.ts";
import { EventSequencer } from "./sequencer.ts";
import { SetMemberCalculator } from "./set-members.ts";
import type { DataplaneState, Delta, EndpointId } from "./types.ts";
import { DEFAULT_POD_INTERFACE_PREFIX } from "./workload-interface.ts";

export interface EngineOptions {
  /** Compute for this node's endpoints only; all endpoints when unset (simulation). */
  readonly node?: string;
  /** Prefix of the interface names the CNI plugin derives for pods (`cali` as Calico's). */
  readonly podInterfacePrefix?: string;
}

/** Endpoints that get chains of their own: workloads and hosts, never host-network pods. */
export function isLocalEndpoint(e: Endpoint, node: string | undefined): boolean {
  if (e.kind === "NetworkSet" || e.kind === "GlobalNetworkSet" || e.hostNetwork) return false;
  return node === undefined || e.node === node;
}

export class Engine {
  readonly #inputs: InputStage;
  readonly #resolver: EndpointResolver;
  readonly #sequencer = new EventSequencer();

  constructor(options: EngineOptions = {}) {
    const sequencer = this.#sequencer;
    const index = newEntityIndex((id) => this.#resolver.markDirty(id));
    const members = new SetMemberCalculator(index, sequencer);
    const scanner = new RuleScanner(
      {
        onSetActive: (spec, selector) => {
          sequencer.onSetActive(spec);
          members.onSetActive(spec, selector);
        },
        onSetInactive: (id) => {
          members.onSetInactive(id);
          sequencer.onSetInactive(id);
        },
      },
      sequencer,
    );
    const matcher = new PolicyMatcher(index, {
      onEndpointDirty: (id) => this.#resolver.markDirty(id),
    });
    this.#resolver = new EndpointResolver(
      matcher,
      {
        onPolicyReferenced: (id) => scanner.activate(id, matcher.policy(id)!),
        onPolicyUnreferenced: (id) => scanner.deactivate(id),
      },
      sequencer,
      options.podInterfacePrefix ?? DEFAULT_POD_INTERFACE_PREFIX,
    );
    const local = new Set<EndpointId>();
    const resolver = this.#resolver;
    this.#inputs = new InputStage({
      onEntityUpdate: (id, entity) => {
        // Keeps the shared index current; subject match changes reach the resolver from there.
        members.upsertEntity(id, entity);
        if (entity && isLocalEndpoint(entity, options.node)) {
          local.add(id);
          resolver.upsertEndpoint(id, entity);
        } else if (local.delete(id)) resolver.upsertEndpoint(id, undefined);
      },
      onPolicyUpdate: (id, policy) => {
        matcher.upsertPolicy(id, policy);
        if (policy && scanner.isActive(id)) scanner.activate(id, policy);
      },
      onTierUpdate: (name, tier) => resolver.upsertTier(name, tier),
      onNodeUpdate: (name, node) => members.upsertNode(name, node),
      onSliceUpdate: (id, slice) => members.upsertSlice(id, slice),
    });
  }

  ingest(events: ResourceEvent | Iterable<ResourceEvent>): void {
    if (Symbol.iterator in events) for (const e of events) this.#inputs.onEvent(e);
    else this.#inputs.onEvent(events);
  }

  /**
   * Binds a pod (`namespace/name`) to the node-side interface its CNI plugin reported, which
   * source validation then ties its addresses to; undefined restores the derived name. Takes
   * effect at the next flush.
   */
  setPodInterface(pod: string, name: string | undefined): void {
    this.#resolver.setInterface(pod as EndpointId, name);
  }

  /**
   * The node's interfaces and the addresses each holds (canonical text): a HostEndpoint without
   * `interfaceName` is bound to those holding one of its expectedIPs. Takes effect at the next
   * flush.
   */
  setHostInterfaces(interfaces: HostInterfaces): void {
    this.#resolver.setHostInterfaces(interfaces);
  }

  /** Ends the batch: the minimal deltas that take the dataplane to the new desired state. */
  flush(): Delta[] {
    this.#resolver.flush();
    return this.#sequencer.flush();
  }

  /** The desired state as of the last flush. */
  state(): DataplaneState {
    return this.#sequencer.state();
  }
}
