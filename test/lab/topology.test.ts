// The lab plan is pure data: names, addresses, setup commands and how a plan changes when pods
// come and go, checked without root.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { matrixProbes, planLab } from "../../src/lab/index.ts";
import {
  type LabSpec,
  labInterfaceName,
  nodeSetups,
  planDiff,
  podRemovals,
  podSetups,
  replan,
  underlaySetup,
} from "../../src/lab/topology.ts";

const tcp80 = { port: 80, protocol: "TCP" as const };
const spec: LabSpec = {
  nodes: ["n1", "n2"],
  pods: [
    { name: "shop/web", node: "n1" },
    { name: "shop/db", node: "n1" },
    { name: "auth/ldap", ip: "198.18.200.7" },
    { name: "kube/proxy", node: "n2", hostNetwork: true, ip: "10.1.1.1" },
  ],
  ports: [{ port: 389, protocol: "UDP" }, tcp80, tcp80],
};

describe("planLab", () => {
  const plan = planLab(spec, "t1");

  test("names nodes and pods by index under the lab prefix", () => {
    assert.deepEqual(
      plan.nodes.map((n) => [n.name, n.netns, n.underlayIp, n.underlayIp6]),
      [
        ["n1", "ms-t1-n0", "198.19.0.1", "fd00:19::1"],
        ["n2", "ms-t1-n1", "198.19.0.2", "fd00:19::2"],
      ],
    );
    assert.deepEqual(
      plan.pods.map((p) => [p.name, p.node, p.netns, p.hostIface]),
      [
        ["shop/web", "n1", "ms-t1-p0", labInterfaceName("shop/web")],
        ["shop/db", "n1", "ms-t1-p1", labInterfaceName("shop/db")],
        ["auth/ldap", "n1", "ms-t1-p2", labInterfaceName("auth/ldap")],
        ["kube/proxy", "n2", "ms-t1-n1", undefined],
      ],
    );
  });

  test("keeps given addresses, allocates the rest, puts host-network pods on the node's", () => {
    assert.deepEqual(
      plan.pods.map((p) => [p.name, p.ip, p.ip6]),
      [
        ["shop/web", "198.18.0.1", "fd00:18::1"],
        ["shop/db", "198.18.0.2", "fd00:18::2"],
        ["auth/ldap", "198.18.200.7", "fd00:18::3"],
        ["kube/proxy", "198.19.0.2", "fd00:19::2"],
      ],
    );
  });

  test("serves each port once, sorted", () => {
    assert.deepEqual(plan.ports, [tcp80, { port: 389, protocol: "UDP" }]);
  });

  test("nodes link pods and route remote pods via their node", () => {
    const { nodes, pods } = podSetups(plan, plan.pods);
    // Calico's CNI name: prefix + sha1("shop.web"), 15 characters.
    const web = labInterfaceName("shop/web");
    assert.match(web, /^wl[0-9a-f]{13}$/);
    assert.deepEqual(nodes[0]?.ip.slice(0, 6), [
      `link add ${web} type veth peer name eth0 netns ms-t1-p0`,
      `addr add 198.19.0.1/32 dev ${web}`,
      `addr add fe80::1/64 dev ${web} nodad`,
      `link set ${web} up`,
      `route add 198.18.0.1/32 dev ${web}`,
      `route add fd00:18::1/128 dev ${web}`,
    ]);
    assert.deepEqual(nodes[1]?.ip.slice(0, 2), [
      "route add 198.18.0.1/32 via 198.19.0.1 dev ul0",
      "route add fd00:18::1/128 via fd00:19::1 dev ul0",
    ]);
    assert.equal(pods.length, 3, "the host-network pod has no netns of its own");
    assert.deepEqual(pods[2]?.ip, [
      "link set lo up",
      "addr add 198.18.200.7/32 dev eth0",
      "addr add fd00:18::3/128 dev eth0 nodad",
      "link set eth0 up",
      "route add 198.19.0.1/32 dev eth0 scope link",
      "route add default via 198.19.0.1 dev eth0",
      "route add ::/0 via fe80::1 dev eth0",
    ]);
  });

  test("nodes forward; the underlay bridges them", () => {
    const [n1] = nodeSetups(plan);
    assert.ok(n1?.sysctls.includes("net/ipv4/ip_forward=1"));
    assert.ok(n1?.sysctls.includes("net/ipv6/conf/all/forwarding=1"));
    assert.deepEqual(underlaySetup(plan).ip.slice(-4), [
      "link set n0 master br0",
      "link set n0 up",
      "link set n1 master br0",
      "link set n1 up",
    ]);
  });

  test("the probe matrix covers every other pod on every served port", () => {
    const probes = matrixProbes(plan, { families: [4, 6] });
    assert.equal(probes.length, 2 * 4 * 3 * 2);
    assert.ok(probes.every((p) => p.from !== p.to));
    assert.equal(matrixProbes(plan, { from: ["shop/web"], ports: [tcp80] }).length, 3);
    assert.throws(() => matrixProbes(plan, { to: ["x/y"] }), /no pod x\/y/);
  });
});

describe("replan", () => {
  const plan = planLab(spec, "t1");

  test("keeps unchanged pods and gives new ones fresh indices and addresses", () => {
    const next = replan(
      plan,
      [
        { name: "shop/web", node: "n1" },
        { name: "shop/web2" },
        { name: "auth/ldap", ip: "198.18.200.7" },
      ],
      [tcp80],
    );
    assert.deepEqual(
      next.pods.map((p) => [p.name, p.index, p.node, p.ip]),
      [
        ["shop/web", 0, "n1", "198.18.0.1"],
        ["shop/web2", 4, "n2", "198.18.0.4"],
        ["auth/ldap", 2, "n1", "198.18.200.7"],
      ],
    );
    const diff = planDiff(plan, next);
    assert.deepEqual(
      diff.added.map((p) => p.name),
      ["shop/web2"],
    );
    assert.deepEqual(
      diff.removed.map((p) => p.name),
      ["shop/db", "kube/proxy"],
    );
    // The pod's veth goes on its own node (at once, not when the kernel tears its netns
    // down), the routes to it on the others; a host-network pod has neither.
    const db = plan.pods.find((p) => p.name === "shop/db")!;
    assert.deepEqual(podRemovals(plan, diff.removed), [
      { netns: "ms-t1-n0", sysctls: [], ip: [`link del ${db.hostIface}`] },
      {
        netns: "ms-t1-n1",
        sysctls: [],
        ip: ["route del 198.18.0.2/32", "route del fd00:18::2/128"],
      },
    ]);
    assert.match(db.hostIface ?? "", /^wl/);
  });

  test("replaces a pod that moves node or address, never reusing an address", () => {
    const moved = replan(
      plan,
      [
        { name: "shop/web", node: "n2" },
        { name: "shop/db", node: "n1", ip: "198.18.9.9" },
      ],
      [],
    );
    assert.deepEqual(
      moved.pods.map((p) => [p.name, p.index, p.node, p.ip, p.ip6]),
      [
        ["shop/web", 4, "n2", "198.18.0.4", "fd00:18::4"],
        ["shop/db", 5, "n1", "198.18.9.9", "fd00:18::5"],
      ],
    );
  });

  test("replaces a kept pod whose allocated address the new set gives to another", () => {
    const next = replan(
      plan,
      [
        { name: "shop/web", node: "n1" },
        { name: "new/one", ip: "198.18.0.1" },
      ],
      [],
    );
    assert.deepEqual(
      next.pods.map((p) => [p.name, p.index, p.ip]),
      [
        ["shop/web", 4, "198.18.0.4"],
        ["new/one", 5, "198.18.0.1"],
      ],
    );
  });
});

describe("plans refused", () => {
  const bad: [string, LabSpec, string, RegExp][] = [
    ["an id with upper case", spec, "T1", /lab id/],
    ["no nodes", { nodes: [], pods: [], ports: [] }, "t", /1\.\.200 nodes/],
    ["a node named twice", { nodes: ["a", "a"], pods: [], ports: [] }, "t", /named twice/],
    ["a node name with a slash", { nodes: ["a/b"], pods: [], ports: [] }, "t", /must match/],
    [
      "a pod named twice",
      { nodes: ["a"], pods: [{ name: "p" }, { name: "p" }], ports: [] },
      "t",
      /named twice/,
    ],
    [
      "a pod on an unknown node",
      { nodes: ["a"], pods: [{ name: "p", node: "b" }], ports: [] },
      "t",
      /not in the lab/,
    ],
    [
      "an address outside the lab",
      { nodes: ["a"], pods: [{ name: "p", ip: "10.0.0.1" }], ports: [] },
      "t",
      /outside the lab's 198\.18\.0\.0\/15/,
    ],
    [
      "an underlay address",
      { nodes: ["a"], pods: [{ name: "p", ip: "198.19.0.9" }], ports: [] },
      "t",
      /kept for the nodes/,
    ],
    [
      "an IPv6 address outside fd00::/8",
      { nodes: ["a"], pods: [{ name: "p", ip6: "2001:db8::1" }], ports: [] },
      "t",
      /outside the lab's fd00::\/8/,
    ],
    [
      "an address given twice",
      {
        nodes: ["a"],
        pods: [
          { name: "p", ip: "198.18.1.1" },
          { name: "q", ip: "198.18.1.1" },
        ],
        ports: [],
      },
      "t",
      /given to two pods/,
    ],
    ["port 0", { nodes: ["a"], pods: [], ports: [{ port: 0, protocol: "TCP" }] }, "t", /bad port/],
  ];
  for (const [name, s, id, message] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => planLab(s, id), message));
  }
});
