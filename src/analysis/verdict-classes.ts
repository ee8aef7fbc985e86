// Workloads and ports that every verdict of a program treats alike, so a matrix judges one pair
// of classes once and counts its cells (Cilium's identities, for offline answers).
//
// The evaluator reads a workload through its id (self traffic), kind, hostNetwork, namespace,
// labels (only the keys some selector reads, a rule's Service's selector included), named
// ports (only names some rule or a rule's Service's target port uses) and the flow's address:
// its family, the rules' CIDRs holding it, the network sets holding it, the nodes at it and
// the rules' Services whose EndpointSlices list it. Two workloads equal in all of these but
// the id get the same verdict against any peer. A port is read through its protocol, the
// rules' port ranges holding it (numbered target ports and slice ports too), and the named
// ports declared with it. Replicas of one Deployment share a class; a StatefulSet's pods too,
// as no selector reads `statefulset.kubernetes.io/pod-name`.
import { type Cidr, cidrContains } from "../net/cidr.ts";
import type {
  Cluster,
  Endpoint,
  EntityMatch,
  FlowPeer,
  PortMatch,
  PortProtocol,
  Program,
} from "../policy/index.ts";
import { addSelectorKeys, type Labels } from "../selector/index.ts";

/** What of a workload and a port the program's selectors and rules can read. */
interface ProgramReads {
  readonly labelKeys: readonly string[];
  readonly portNames: ReadonlySet<string>;
  readonly cidrs: readonly Cidr[];
  readonly ranges: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  /** Services matched through their EndpointSlices (`namespace/name`). */
  readonly slicedServices: readonly string[];
}

function programReads(program: Program, cluster: Cluster): ProgramReads {
  const keys = new Set<string>();
  const portNames = new Set<string>();
  const cidrs = new Map<string, Cidr>();
  const ranges = new Map<string, { from: number; to: number }>();
  const sliced = new Set<string>();
  const port = (n: number) => ranges.set(`${n}-${n}`, { from: n, to: n });
  const ports = (list: readonly PortMatch[] | undefined) => {
    for (const pm of list ?? []) {
      if (pm.kind === "named") portNames.add(pm.name);
      else ranges.set(`${pm.from}-${pm.to}`, pm);
    }
  };
  const side = (m: EntityMatch) => {
    if (m.selector) addSelectorKeys(m.selector.ast, keys);
    if (m.notSelector) addSelectorKeys(m.notSelector.ast, keys);
    for (const c of [...(m.nets ?? []), ...(m.notNets ?? [])]) cidrs.set(c.text, c);
    ports(m.ports);
    ports(m.notPorts);
    const service = m.service;
    if (service?.selector) addSelectorKeys(service.selector.ast, keys);
    for (const tp of service?.targetPorts ?? []) {
      if (typeof tp.port === "string") portNames.add(tp.port);
      else port(tp.port);
    }
    if (service?.via === "slices") {
      sliced.add(service.key);
      for (const slice of cluster.serviceSlices(service.key))
        for (const p of slice.ports) port(p.port);
    }
  };
  for (const tier of program.tiers) {
    for (const policy of tier.policies) {
      addSelectorKeys(policy.selector.ast, keys);
      for (const rule of [...policy.ingress, ...policy.egress]) {
        side(rule.source);
        side(rule.destination);
      }
    }
  }
  return {
    labelKeys: [...keys].sort(),
    portNames,
    cidrs: [...cidrs.values()],
    ranges: [...ranges.values()],
    slicedServices: [...sliced].sort(),
  };
}

/** As the compiled selectors read a label: own string values only (`constructor` is a key). */
function ownLabel(labels: Labels, key: string): string | undefined {
  const value = Object.getOwnPropertyDescriptor(labels, key)?.value;
  return typeof value === "string" ? value : undefined;
}

const ABSENT = "\u0003";

export class VerdictClasses {
  readonly #reads: ProgramReads;
  readonly #classes = new Map<string, number>();

  constructor(
    program: Program,
    private readonly cluster: Cluster,
  ) {
    this.#reads = programReads(program, cluster);
  }

  /** Number of classes handed out so far: class ids are 0 .. count - 1. */
  get count(): number {
    return this.#classes.size;
  }

  /** The class of a workload seen as a flow peer (its address is the one the flow uses). */
  classOf(peer: FlowPeer & { readonly endpoint: NonNullable<FlowPeer["endpoint"]> }): number {
    const key = this.#key(peer);
    let id = this.#classes.get(key);
    if (id === undefined) {
      id = this.#classes.size;
      this.#classes.set(key, id);
    }
    return id;
  }

  #key(peer: FlowPeer & { readonly endpoint: NonNullable<FlowPeer["endpoint"]> }): string {
    const ep = peer.endpoint;
    const { labelKeys, portNames, cidrs, slicedServices } = this.#reads;
    const labels = labelKeys.map((k) => ownLabel(ep.labels, k) ?? ABSENT).join("\u0002");
    const named = ep.ports
      .filter((p) => portNames.has(p.name))
      .map((p) => `${p.name}/${p.port}/${p.protocol}`)
      .sort()
      .join(",");
    const a = peer.address;
    const address =
      a === undefined
        ? "-"
        : [
            a.family,
            cidrs.map((c) => (cidrContains(c, a) ? 1 : 0)).join(""),
            this.cluster
              .networkSetsContaining(a)
              .map((s) => s.id)
              .join(","),
            this.cluster
              .nodesWithAddress(a)
              .map((n) => n.name)
              .join(","),
            slicedServices
              .filter((key) =>
                this.cluster
                  .serviceSlices(key)
                  .some((slice) => slice.addresses.some((s) => s.text === a.text)),
              )
              .join(","),
          ].join("|");
    return [ep.kind, ep.hostNetwork ? 1 : 0, ep.namespace ?? ABSENT, labels, named, address].join(
      "\u0001",
    );
  }

  /**
   * Ports grouped the same way: `classes[i]` is the class of `ports[i]`. A port some workload
   * declares under a name a rule uses is a class of its own (the named match depends on it).
   */
  portClasses(ports: readonly PortProtocol[], workloads: readonly Endpoint[]): number[] {
    const { ranges, portNames } = this.#reads;
    const named = new Set<string>();
    for (const w of workloads) {
      for (const p of w.ports) if (portNames.has(p.name)) named.add(`${p.protocol}/${p.port}`);
    }
    const ids = new Map<string, number>();
    return ports.map(({ port, protocol }) => {
      const own = named.has(`${protocol}/${port}`) ? String(port) : "";
      const inRanges = ranges.map((r) => (port >= r.from && port <= r.to ? 1 : 0)).join("");
      const key = `${protocol}|${inRanges}|${own}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
      }
      return id;
    });
  }
}
