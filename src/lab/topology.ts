// The lab's shape as data: which namespaces, links, addresses and routes a topology needs.
// Pure, so the plan can be checked without root; lab.ts carries it out.
//
//   pod netns (eth0: 198.18.N.P/32, fd00:18::N:P/128, default via node)
//      | veth (node side vethP: gateway 198.19.0.(N+1)/32, fe80::1; route to the pod)
//   node netns N (forwarding; `inet microseg` filters here, forward hook)
//      | veth ul0 (198.19.0.(N+1)/24, fd00:19::(N+1)/64; routes to remote pods via their node)
//   underlay netns (bridge br0)

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface PortSpec {
  port: number;
  protocol: Protocol;
}

export interface PodSpec {
  name: string;
  /** Servers the pod runs; each answers probes on both address families. */
  ports?: PortSpec[];
  /** Overrides the planned address, to place a pod anywhere in the lab range. */
  ip?: string;
  ip6?: string;
}

export interface NodeSpec {
  name: string;
  pods: PodSpec[];
}

export interface LabSpec {
  nodes: NodeSpec[];
}

export interface PodPlan {
  name: string;
  node: string;
  netns: string;
  ip: string;
  ip6: string;
  /** The node-side end of the pod's veth. */
  hostIface: string;
  ports: PortSpec[];
}

export interface NodePlan {
  name: string;
  netns: string;
  underlayIp: string;
  underlayIp6: string;
  /** The underlay netns's end of the node's veth. */
  bridgePort: string;
  pods: PodPlan[];
}

export interface LabPlan {
  id: string;
  /** Every netns of the lab starts with it: `ms-<id>-`. */
  prefix: string;
  underlayNetns: string;
  nodes: NodePlan[];
}

const namePattern = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;
const maxNodes = 200;
const maxPodsPerNode = 200;

export function labPrefix(id: string): string {
  return `ms-${id}-`;
}

function checkSpec(spec: LabSpec): void {
  if (spec.nodes.length === 0 || spec.nodes.length > maxNodes) {
    throw new Error(`a lab has 1..${maxNodes} nodes, got ${spec.nodes.length}`);
  }
  const seen = new Set<string>();
  for (const n of spec.nodes) {
    if (n.pods.length > maxPodsPerNode)
      throw new Error(`node ${n.name} has more than ${maxPodsPerNode} pods`);
    for (const name of [n.name, ...n.pods.map((p) => p.name)]) {
      if (!namePattern.test(name))
        throw new Error(`name ${JSON.stringify(name)} must match ${namePattern}`);
      if (seen.has(name) || name === "underlay")
        throw new Error(
          `name ${name} is used twice (nodes and pods share one namespace with the underlay)`,
        );
      seen.add(name);
    }
    for (const p of n.pods) {
      for (const { port, protocol } of p.ports ?? []) {
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          throw new Error(`pod ${p.name}: bad port ${port}`);
        if (!["TCP", "UDP", "SCTP"].includes(protocol))
          throw new Error(`pod ${p.name}: bad protocol ${protocol}`);
      }
    }
  }
}

export function planLab(spec: LabSpec, id: string): LabPlan {
  if (!/^[a-z0-9]{1,8}$/.test(id))
    throw new Error(`lab id ${JSON.stringify(id)} must be 1-8 of [a-z0-9]`);
  checkSpec(spec);
  const prefix = labPrefix(id);
  const nodes = spec.nodes.map((n, ni): NodePlan => {
    const netns = `${prefix}${n.name}`;
    return {
      name: n.name,
      netns,
      underlayIp: `198.19.0.${ni + 1}`,
      underlayIp6: `fd00:19::${(ni + 1).toString(16)}`,
      bridgePort: `n${ni}`,
      pods: n.pods.map((p, pi) => ({
        name: p.name,
        node: n.name,
        netns: `${prefix}${p.name}`,
        ip: p.ip ?? `198.18.${ni}.${pi + 1}`,
        ip6: p.ip6 ?? `fd00:18::${ni.toString(16)}:${(pi + 1).toString(16)}`,
        hostIface: `veth${pi}`,
        ports: p.ports ?? [],
      })),
    };
  });
  return { id, prefix, underlayNetns: `${prefix}underlay`, nodes };
}

/** Every netns of the plan, in the order they are created (and deleted in reverse). */
export function netnsNames(plan: LabPlan): string[] {
  return [
    plan.underlayNetns,
    ...plan.nodes.map((n) => n.netns),
    ...plan.nodes.flatMap((n) => n.pods.map((p) => p.netns)),
  ];
}

export function allPods(plan: LabPlan): PodPlan[] {
  return plan.nodes.flatMap((n) => n.pods);
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

/** Node setup creates the veths, so it runs before the pod and underlay setups. */
export function nodeSetups(plan: LabPlan): NetnsSetup[] {
  return plan.nodes.map((node, ni) => {
    const gw = node.underlayIp;
    const ip = [
      "link set lo up",
      `link add ul0 type veth peer name ${node.bridgePort} netns ${plan.underlayNetns}`,
      `addr add ${node.underlayIp}/24 dev ul0`,
      `addr add ${node.underlayIp6}/64 dev ul0 nodad`,
      "link set ul0 up",
    ];
    for (const pod of node.pods) {
      const dev = pod.hostIface;
      ip.push(
        `link add ${dev} type veth peer name eth0 netns ${pod.netns}`,
        `addr add ${gw}/32 dev ${dev}`,
        `addr add fe80::1/64 dev ${dev} nodad`,
        `link set ${dev} up`,
        `route add ${pod.ip}/32 dev ${dev}`,
        `route add ${pod.ip6}/128 dev ${dev}`,
      );
    }
    plan.nodes.forEach((other, oi) => {
      if (oi === ni) return;
      for (const pod of other.pods) {
        ip.push(`route add ${pod.ip}/32 via ${other.underlayIp} dev ul0`);
        ip.push(`route add ${pod.ip6}/128 via ${other.underlayIp6} dev ul0`);
      }
    });
    return {
      netns: node.netns,
      sysctls: [...noDad, "net/ipv4/ip_forward=1", "net/ipv6/conf/all/forwarding=1"],
      ip,
    };
  });
}

export function podSetups(plan: LabPlan): NetnsSetup[] {
  return plan.nodes.flatMap((node) =>
    node.pods.map((pod) => ({
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
    })),
  );
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
