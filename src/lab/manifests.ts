// From manifests to a lab and back: the Pods and WorkloadEndpoints of a manifest set become the
// lab's pods, and the lab's copy of the set carries the nodes and addresses the lab gave them,
// so the node agents and `microseg matrix` judge the addresses packets really carry. Pure.

import type { Pod, Resource, WorkloadEndpoint } from "../model/index.ts";
import {
  type LabPlan,
  type LabSpec,
  maxNodes,
  type PodSpec,
  type PortSpec,
  type Protocol,
} from "./topology.ts";

export interface ManifestLabOptions {
  /**
   * The lab's nodes: exactly these names, or a count, met by the nodes the manifests name
   * and then `node-1`, `node-2`, ...; 2 by default. Counted nodes come sorted.
   */
  nodes?: number | readonly string[];
  /** Served by every pod besides the ports the manifests declare. */
  ports?: readonly PortSpec[];
}

const servable = new Set<string>(["TCP", "UDP", "SCTP"]);

function isPod(r: Resource): r is Pod {
  return r.apiVersion === "v1" && r.kind === "Pod";
}

function isWorkloadEndpoint(r: Resource): r is WorkloadEndpoint {
  return r.kind === "WorkloadEndpoint";
}

function workloadName(r: Pod | WorkloadEndpoint): string {
  return `${r.metadata.namespace ?? "default"}/${r.metadata.name}`;
}

/** The first address of each family; IPv6 texts contain a colon. */
function byFamily(texts: readonly string[]): { ip?: string; ip6?: string } {
  const ip = texts.find((t) => !t.includes(":"));
  const ip6 = texts.find((t) => t.includes(":"));
  return { ...(ip ? { ip } : {}), ...(ip6 ? { ip6 } : {}) };
}

function podSpec(r: Pod | WorkloadEndpoint): PodSpec {
  if (isPod(r)) {
    const status = r.status ?? {};
    const ips = [
      ...(status.podIPs ?? []).map((p) => p.ip),
      ...(status.podIP ? [status.podIP] : []),
    ];
    return {
      name: workloadName(r),
      ...(r.spec.nodeName ? { node: r.spec.nodeName } : {}),
      ...(r.spec.hostNetwork ? { hostNetwork: true } : byFamily(ips)),
    };
  }
  // ipNetworks are host CIDRs (/32, /128).
  const ips = (r.spec.ipNetworks ?? []).map((n) => n.split("/")[0]!);
  return {
    name: workloadName(r),
    node: r.spec.node,
    ...(r.spec.interfaceName ? { interfaceName: r.spec.interfaceName } : {}),
    ...byFamily(ips),
  };
}

function declaredPorts(r: Pod | WorkloadEndpoint): PortSpec[] {
  const ports = isPod(r)
    ? r.spec.containers.flatMap((c) =>
        (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: p.protocol })),
      )
    : (r.spec.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol }));
  // UDPLite has no server here; probes could not tell allowed from refused.
  return ports
    .filter((p) => servable.has(p.protocol))
    .map((p) => ({ port: p.port, protocol: p.protocol as Protocol }));
}

/** Sorted with numbers compared as numbers: node-2 before node-10. */
function nodeNames(named: string[], count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > maxNodes)
    throw new Error(`a lab has 1..${maxNodes} nodes, got ${count}`);
  const names = [...new Set(named)];
  for (let i = 1; names.length < count; i++) {
    if (!names.includes(`node-${i}`)) names.push(`node-${i}`);
  }
  return names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** The lab a manifest set asks for: a pod per Pod and WorkloadEndpoint. */
export function labSpecFromManifests(
  resources: readonly Resource[],
  opts: ManifestLabOptions = {},
): LabSpec {
  const workloads = resources.filter(
    (r): r is Pod | WorkloadEndpoint => isPod(r) || isWorkloadEndpoint(r),
  );
  const pods = workloads.map(podSpec);
  const named = pods.flatMap((p) => (p.node ? [p.node] : []));
  const nodes = Array.isArray(opts.nodes)
    ? [...opts.nodes]
    : nodeNames(named, typeof opts.nodes === "number" ? opts.nodes : 2);
  return {
    nodes,
    pods,
    ports: [...workloads.flatMap(declaredPorts), ...(opts.ports ?? [])],
  };
}

/**
 * The manifest set as the lab runs it: every Pod and WorkloadEndpoint on its lab node with its
 * lab addresses, and Nodes the lab runs with their underlay addresses. Everything else as given.
 */
export function labManifests(resources: readonly Resource[], plan: LabPlan): Resource[] {
  const pods = new Map(plan.pods.map((p) => [p.name, p]));
  const nodes = new Map(plan.nodes.map((n) => [n.name, n]));
  return resources.map((r): Resource => {
    if (isPod(r)) {
      const pod = pods.get(workloadName(r))!;
      const node = nodes.get(pod.node)!;
      return {
        ...r,
        spec: { ...r.spec, nodeName: pod.node },
        status: {
          ...r.status,
          podIP: pod.ip,
          podIPs: [{ ip: pod.ip }, { ip: pod.ip6 }],
          hostIP: node.underlayIp,
          hostIPs: [{ ip: node.underlayIp }, { ip: node.underlayIp6 }],
        },
      };
    }
    if (isWorkloadEndpoint(r)) {
      const pod = pods.get(workloadName(r))!;
      return {
        ...r,
        spec: { ...r.spec, node: pod.node, ipNetworks: [`${pod.ip}/32`, `${pod.ip6}/128`] },
      };
    }
    if (r.apiVersion === "v1" && r.kind === "Node" && nodes.has(r.metadata.name)) {
      const node = nodes.get(r.metadata.name)!;
      return {
        ...r,
        status: {
          ...r.status,
          addresses: [
            { type: "InternalIP", address: node.underlayIp },
            { type: "InternalIP", address: node.underlayIp6 },
          ],
        },
      };
    }
    return r;
  });
}
