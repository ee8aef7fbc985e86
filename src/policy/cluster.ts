// A snapshot of the workloads, network sets, nodes and namespaces that flows are judged in.
import type { Address } from "../net/cidr.ts";
import { anyContains } from "../net/cidr.ts";
import type { Labels } from "../selector/index.ts";
import type { PeerContext } from "./match.ts";
import type { Endpoint, FlowPeer, Node, SliceEndpoints } from "./types.ts";

const MAX_CACHED_ADDRESSES = 100_000;

export class Cluster implements PeerContext {
  readonly #byId = new Map<string, Endpoint>();
  readonly #byAddress = new Map<string, Endpoint>();
  readonly #nodesByAddress = new Map<string, Node[]>();
  readonly #hostEndpoints = new Map<string, Endpoint[]>();
  /** Rules ask about the same peer address once per selector: scan the sets once per address. */
  readonly #setsByAddress = new Map<string, readonly Endpoint[]>();

  constructor(
    /** Pods, workload endpoints and host endpoints. */
    readonly endpoints: readonly Endpoint[],
    readonly networkSets: readonly Endpoint[],
    readonly nodes: readonly Node[],
    readonly namespaces: ReadonlyMap<string, Labels>,
    /** EndpointSlices by the Service (`namespace/name`) they belong to. */
    readonly slices: ReadonlyMap<string, readonly SliceEndpoints[]> = new Map(),
  ) {
    for (const ep of endpoints) {
      this.#byId.set(ep.id, ep);
      // Every host endpoint of a node may be on a flow's way: one found by its expectedIPs is
      // bound to whichever interfaces hold them, not known offline, so it judges too.
      if (ep.kind === "HostEndpoint" && ep.node !== undefined) {
        const list = this.#hostEndpoints.get(ep.node);
        if (list) list.push(ep);
        else this.#hostEndpoints.set(ep.node, [ep]);
      }
      // Host-network pods share the node's address; the address names the node, not the pod.
      if (ep.hostNetwork) continue;
      for (const a of ep.addresses)
        if (!this.#byAddress.has(a.text)) this.#byAddress.set(a.text, ep);
    }
    for (const n of nodes) {
      for (const a of n.addresses) {
        const list = this.#nodesByAddress.get(a.text);
        if (list) list.push(n);
        else this.#nodesByAddress.set(a.text, [n]);
      }
    }
  }

  /** Pods and workload endpoints: the rows and columns of a reachability matrix. */
  workloads(): Endpoint[] {
    return this.endpoints.filter((e) => e.kind === "Pod" || e.kind === "WorkloadEndpoint");
  }

  endpoint(id: string): Endpoint | undefined {
    return this.#byId.get(id);
  }

  endpointAt(address: Address): Endpoint | undefined {
    return this.#byAddress.get(address.text);
  }

  /**
   * The flow side for a workload, using its first address of the wanted family; a workload
   * without addresses is judged by identity alone.
   */
  peerOf(ep: Endpoint, family: 4 | 6 = 4): FlowPeer {
    const address = ep.addresses.find((a) => a.family === family) ?? ep.addresses[0];
    return address ? { address, endpoint: ep } : { endpoint: ep };
  }

  peerAt(address: Address): FlowPeer {
    const endpoint = this.endpointAt(address);
    return endpoint ? { address, endpoint } : { address };
  }

  networkSetsContaining(address: Address): readonly Endpoint[] {
    let sets = this.#setsByAddress.get(address.text);
    if (sets === undefined) {
      sets = this.networkSets.filter((s) => anyContains(s.nets, address));
      // A long-lived snapshot may be asked about any number of outside addresses.
      if (this.#setsByAddress.size >= MAX_CACHED_ADDRESSES) this.#setsByAddress.clear();
      this.#setsByAddress.set(address.text, sets);
    }
    return sets;
  }

  nodesWithAddress(address: Address): readonly Node[] {
    return this.#nodesByAddress.get(address.text) ?? [];
  }

  serviceSlices(service: string): readonly SliceEndpoints[] {
    return this.slices.get(service) ?? [];
  }

  hostEndpointsOn(node: string): readonly Endpoint[] {
    return this.#hostEndpoints.get(node) ?? [];
  }

  namespaceLabels(namespace: string): Labels | undefined {
    return this.namespaces.get(namespace);
  }
}
