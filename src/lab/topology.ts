// The lab's shape as data: which namespaces, links, addresses and routes a topology needs, and
// how a plan changes when pods come and go. Pure, so plans can be checked without root; lab.ts
// carries them out.
//
//   pod netns p<I> (eth0: pod addresses /32 and /128, default via its node)
//      | veth (node side wl + sha1("<ns>.<pod>") as Calico's CNI names it: the node's underlay
//      |       address /32 and fe80::1; route to the pod)
//   node netns n<N> (forwarding; `inet microseg` filters here, forward hook)
//      | veth ul0 (198.19.0.N+1/24, fd00:19::N+1/64; a route per remote pod via its node)
//   underlay netns (bridge br0)
//
// A host-network pod has no netns of its own: it lives in its node's netns, on its addresses.

import { podInterfaceName } from "../engine/workload-interface.ts";
import { allocate, canonical, podAddressProblem, underlayAddresses } from "./addresses.ts";

/** The lab's CNI names pods' veths as Calico's does, with this prefix (the agents are told). */
export const LAB_POD_IFACE_PREFIX = "wl";

/** `namespace/name` (or a bare name, namespace default) -> the node side of the pod's veth. */
export function labInterfaceName(podName: string): string {
  const slash = podName.indexOf("/");
  const [ns, name] =
    slash < 0 ? ["default", podName] : [podName.slice(0, slash), podName.slice(slash + 1)];
  return podInterfaceName(LAB_POD_IFACE_PREFIX, ns, name);
}

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface PortSpec {
  port: number;
  protocol: Protocol;
}

export interface PodSpec {
  /** How probes and results name the pod: `namespace/name` when it comes from a manifest. */
  name: string;
  /** Round-robin over the lab's nodes when unset. */
  node?: string;
  /** Allocated from the lab's ranges when unset; ignored for host-network pods. */
  ip?: string;
  ip6?: string;
  hostNetwork?: boolean;
  /** The node side of its veth, when its manifest names it (WorkloadEndpoint interfaceName). */
  interfaceName?: string;
}

export interface LabSpec {
  nodes: string[];
  pods: PodSpec[];
  /** Served by every pod, so any pair can be probed on any of them. */
  ports: PortSpec[];
}

export interface NodePlan {
  name: string;
  netns: string;
  underlayIp: string;
  underlayIp6: string;
  /** The underlay netns's end of the node's veth. */
  bridgePort: string;
}

export interface PodPlan {
  name: string;
  /** Unique for the lab's lifetime: names the pod's netns and the node side of its veth. */
  index: number;
  node: string;
  hostNetwork: boolean;
  /** The pod's own netns, or its node's for a host-network pod. */
  netns: string;
  ip: string;
  ip6: string;
  /** The node-side end of the pod's veth; absent for a host-network pod. */
  hostIface?: string;
}

export interface LabPlan {
  id: string;
  /** Every netns of the lab starts with it: `ms-<id>-`. */
  prefix: string;
  underlayNetns: string;
  nodes: NodePlan[];
  pods: PodPlan[];
  ports: PortSpec[];
  /** Counters that only move forward: pod index, address number, round-robin node. */
  next: { index: number; address: number; node: number };
}

export const maxNodes = 200;
export const maxPods = 2000;
const protocols = new Set<string>(["TCP", "UDP", "SCTP"]);
const nodeNamePattern = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export function labPrefix(id: string): string {
  return `ms-${id}-`;
}

/** The plan of a lab with nodes and no pods yet. */
export function emptyPlan(nodes: string[], id: string): LabPlan {
  if (!/^[a-z0-9]{1,8}$/.test(id))
    throw new Error(`lab id ${JSON.stringify(id)} must be 1-8 of [a-z0-9]`);
  if (nodes.length === 0 || nodes.length > maxNodes)
    throw new Error(`a lab has 1..${maxNodes} nodes, got ${nodes.length}`);
  const seen = new Set<string>();
  for (const name of nodes) {
    if (!nodeNamePattern.test(name))
      throw new Error(`node name ${JSON.stringify(name)} must match ${nodeNamePattern}`);
    if (seen.has(name)) throw new Error(`node ${name} is named twice`);
    seen.add(name);
  }
  const prefix = labPrefix(id);
  return {
    id,
    prefix,
    underlayNetns: `${prefix}underlay`,
    nodes: nodes.map((name, i) => {
      const { ip, ip6 } = underlayAddresses(i);
      return {
        name,
        netns: `${prefix}n${i}`,
        underlayIp: ip,
        underlayIp6: ip6,
        bridgePort: `n${i}`,
      };
    }),
    pods: [],
    ports: [],
    next: { index: 0, address: 1, node: 0 },
  };
}

export function planLab(spec: LabSpec, id: string): LabPlan {
  return replan(emptyPlan(spec.nodes, id), spec.pods, spec.ports);
}

function checkPorts(ports: PortSpec[]): PortSpec[] {
  const seen = new Map<string, PortSpec>();
  for (const p of ports) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      throw new Error(`bad port ${p.port}: must be 1-65535`);
    if (!protocols.has(p.protocol))
      throw new Error(`bad protocol ${p.protocol} for port ${p.port}`);
    seen.set(`${p.protocol}/${p.port}`, { port: p.port, protocol: p.protocol });
  }
  return [...seen.values()].sort((a, b) =>
    a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1,
  );
}

/** The given addresses of a pod, canonical, after checking they lie in the lab's ranges. */
function givenAddresses(pod: PodSpec): { ip?: string; ip6?: string } {
  if (pod.hostNetwork) return {};
  const out: { ip?: string; ip6?: string } = {};
  for (const [key, family] of [
    ["ip", 4],
    ["ip6", 6],
  ] as const) {
    const text = pod[key];
    if (text === undefined) continue;
    const problem = podAddressProblem(text, family);
    if (problem) throw new Error(`pod ${pod.name}: ${problem}`);
    out[key] = canonical(text);
  }
  return out;
}

/**
 * The plan for a new set of pods on the same nodes. A pod keeps its netns, index and addresses
 * while its node, host-network flag and given addresses stay the same; otherwise it is replaced
 * by a new one. Everything else about the plan follows from `previous`, so replanning is
 * deterministic.
 */
export function replan(previous: LabPlan, pods: PodSpec[], ports: PortSpec[]): LabPlan {
  if (pods.length > maxPods) throw new Error(`a lab has at most ${maxPods} pods`);
  const nodes = new Map(previous.nodes.map((n) => [n.name, n]));
  const before = new Map(previous.pods.map((p) => [p.name, p]));
  const next = { ...previous.next };
  const given = pods.map(givenAddresses);
  // Address -> the pod the new spec gives it to.
  const givenTo = new Map<string, string>();
  given.forEach((g, i) => {
    for (const a of [g.ip, g.ip6]) {
      if (a === undefined) continue;
      if (givenTo.has(a)) throw new Error(`address ${a} is given to two pods`);
      givenTo.set(a, pods[i]!.name);
    }
  });
  const taken = new Set(givenTo.keys());
  const names = new Set<string>();
  const kept: (PodPlan | undefined)[] = pods.map((spec, i) => {
    if (!spec.name || /\s/.test(spec.name))
      throw new Error(`bad pod name ${JSON.stringify(spec.name)}`);
    if (names.has(spec.name)) throw new Error(`pod ${spec.name} is named twice`);
    names.add(spec.name);
    if (spec.node !== undefined && !nodes.has(spec.node))
      throw new Error(
        `pod ${spec.name}: node ${spec.node} is not in the lab (${[...nodes.keys()].join(", ")})`,
      );
    const old = before.get(spec.name);
    const g = given[i]!;
    const same =
      old &&
      (spec.node ?? old.node) === old.node &&
      (spec.hostNetwork ?? false) === old.hostNetwork &&
      (g.ip ?? old.ip) === old.ip &&
      (g.ip6 ?? old.ip6) === old.ip6 &&
      // An address it was allocated may now be given to another pod.
      (old.hostNetwork ||
        [old.ip, old.ip6].every((a) => (givenTo.get(a) ?? spec.name) === spec.name));
    if (!same) return undefined;
    // A kept pod's allocated addresses stay taken; a given one is already in the set.
    if (!old.hostNetwork) for (const a of [old.ip, old.ip6]) taken.add(a);
    return old;
  });
  const planned = pods.map((spec, i): PodPlan => {
    const old = kept[i];
    if (old) return old;
    const node = nodes.get(spec.node ?? "") ?? previous.nodes[next.node++ % previous.nodes.length]!;
    const index = next.index++;
    if (spec.hostNetwork) {
      return {
        name: spec.name,
        index,
        node: node.name,
        hostNetwork: true,
        netns: node.netns,
        ip: node.underlayIp,
        ip6: node.underlayIp6,
      };
    }
    const g = given[i]!;
    let { ip, ip6 } = g;
    if (ip === undefined || ip6 === undefined) {
      const a = allocate(next.address, taken);
      next.address = a.next;
      ip ??= a.ip;
      ip6 ??= a.ip6;
      taken.add(ip).add(ip6);
    }
    return {
      name: spec.name,
      index,
      node: node.name,
      hostNetwork: false,
      netns: `${previous.prefix}p${index}`,
      ip,
      ip6,
      hostIface: spec.interfaceName ?? labInterfaceName(spec.name),
    };
  });
  return { ...previous, pods: planned, ports: checkPorts(ports), next };
}

/** Pods of `next` that `previous` lacks, and pods of `previous` that `next` dropped. */
export function planDiff(
  previous: LabPlan,
  next: LabPlan,
): { added: PodPlan[]; removed: PodPlan[] } {
  const key = (p: PodPlan) => `${p.index}`;
  const old = new Set(previous.pods.map(key));
  const now = new Set(next.pods.map(key));
  return {
    added: next.pods.filter((p) => !old.has(key(p))),
    removed: previous.pods.filter((p) => !now.has(key(p))),
  };
}

export function nodeOf(plan: LabPlan, pod: PodPlan): NodePlan {
  return plan.nodes.find((n) => n.name === pod.node)!;
}

// sysctls are per netns and start at kernel defaults; DAD would keep fresh IPv6 addresses
// unusable for a second or more.
const noDad = ["net/ipv6/conf/all/accept_dad=0", "net/ipv6/conf/default/accept_dad=0"];

export interface NetnsSetup {
  netns: string;
  /** /proc/sys paths (below /proc/sys) and values, written before the ip commands. */
  sysctls: string[];
  /** `ip -batch` lines. */
  ip: string[];
}

/** The nodes' own setup; it creates the underlay veths, so it runs before underlaySetup. */
export function nodeSetups(plan: LabPlan): NetnsSetup[] {
  return plan.nodes.map((node) => ({
    netns: node.netns,
    // Strict reverse-path filtering (IPv4) on every node interface, as Felix sets it on
    // workload interfaces: defence in depth below microseg's own source validation.
    sysctls: [
      ...noDad,
      "net/ipv4/ip_forward=1",
      "net/ipv6/conf/all/forwarding=1",
      "net/ipv4/conf/all/rp_filter=1",
    ],
    ip: [
      "link set lo up",
      `link add ul0 type veth peer name ${node.bridgePort} netns ${plan.underlayNetns}`,
      `addr add ${node.underlayIp}/24 dev ul0`,
      `addr add ${node.underlayIp6}/64 dev ul0 nodad`,
      "link set ul0 up",
    ],
  }));
}

export function underlaySetup(plan: LabPlan): NetnsSetup {
  return {
    netns: plan.underlayNetns,
    sysctls: noDad,
    ip: [
      "link set lo up",
      "link add br0 type bridge",
      "link set br0 up",
      ...plan.nodes.flatMap((n) => [
        `link set ${n.bridgePort} master br0`,
        `link set ${n.bridgePort} up`,
      ]),
    ],
  };
}

/**
 * What adding `pods` takes, in two rounds: per node (the pods' veths, created from the node
 * side, and routes to the pods on other nodes), then per pod (addresses and routes inside).
 */
export function podSetups(
  plan: LabPlan,
  pods: PodPlan[],
): { nodes: NetnsSetup[]; pods: NetnsSetup[] } {
  const own = pods.filter((p) => !p.hostNetwork);
  const nodes = plan.nodes
    .map((node): NetnsSetup => {
      const ip: string[] = [];
      for (const pod of own) {
        if (pod.node === node.name) {
          const dev = pod.hostIface!;
          ip.push(
            `link add ${dev} type veth peer name eth0 netns ${pod.netns}`,
            `addr add ${node.underlayIp}/32 dev ${dev}`,
            `addr add fe80::1/64 dev ${dev} nodad`,
            `link set ${dev} up`,
            `route add ${pod.ip}/32 dev ${dev}`,
            `route add ${pod.ip6}/128 dev ${dev}`,
          );
        } else {
          const via = nodeOf(plan, pod);
          ip.push(
            `route add ${pod.ip}/32 via ${via.underlayIp} dev ul0`,
            `route add ${pod.ip6}/128 via ${via.underlayIp6} dev ul0`,
          );
        }
      }
      return { netns: node.netns, sysctls: [], ip };
    })
    .filter((s) => s.ip.length > 0);
  return {
    nodes,
    pods: own.map((pod) => {
      const node = nodeOf(plan, pod);
      return {
        netns: pod.netns,
        sysctls: noDad,
        ip: [
          "link set lo up",
          `addr add ${pod.ip}/32 dev eth0`,
          `addr add ${pod.ip6}/128 dev eth0 nodad`,
          "link set eth0 up",
          `route add ${node.underlayIp}/32 dev eth0 scope link`,
          `route add default via ${node.underlayIp} dev eth0`,
          "route add ::/0 via fe80::1 dev eth0",
        ],
      };
    }),
  };
}

/**
 * What removing `pods` takes on the nodes, before their namespaces go: a pod's veth on its own
 * node (deleting it takes both ends and the routes through it at once; deleting the pod's netns
 * would too, but the kernel tears a netns down later, in a worker, so a new pod given the same
 * address could meet the old route), and the routes other nodes keep to it.
 */
export function podRemovals(plan: LabPlan, pods: PodPlan[]): NetnsSetup[] {
  return plan.nodes
    .map((node) => ({
      netns: node.netns,
      sysctls: [],
      ip: pods
        .filter((p) => !p.hostNetwork)
        .flatMap((p) =>
          p.node === node.name
            ? [`link del ${p.hostIface!}`]
            : [`route del ${p.ip}/32`, `route del ${p.ip6}/128`],
        ),
    }))
    .filter((s) => s.ip.length > 0);
}

/** Namespaces a plan needs besides the pods': the underlay first, then the nodes. */
export function baseNetns(plan: LabPlan): string[] {
  return [plan.underlayNetns, ...plan.nodes.map((n) => n.netns)];
}

/** Namespaces of pods that have their own. */
export function podNetns(pods: PodPlan[]): string[] {
  return pods.filter((p) => !p.hostNetwork).map((p) => p.netns);
}
