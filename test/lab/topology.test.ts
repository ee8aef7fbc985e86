// The lab plan is pure data: names, addresses and setup commands, checked without root.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { matrixProbes, planLab } from "../../src/lab/index.ts";
import { netnsNames, nodeSetups, podSetups, underlaySetup } from "../../src/lab/topology.ts";

const spec = {
  nodes: [
    {
      name: "n1",
      pods: [{ name: "web", ports: [{ port: 80, protocol: "TCP" as const }] }, { name: "db" }],
    },
    {
      name: "n2",
      pods: [
        { name: "ldap", ip: "198.18.200.7", ports: [{ port: 389, protocol: "UDP" as const }] },
      ],
    },
  ],
};

describe("planLab", () => {
  const plan = planLab(spec, "t1");

  test("names every netns with the lab prefix, in creation order", () => {
    assert.deepEqual(netnsNames(plan), [
      "ms-t1-underlay",
      "ms-t1-n1",
      "ms-t1-n2",
      "ms-t1-web",
      "ms-t1-db",
      "ms-t1-ldap",
    ]);
  });

  test("gives pods benchmark-range addresses unless one is set", () => {
    const pods = plan.nodes.flatMap((n) => n.pods.map((p) => [p.name, p.ip, p.ip6]));
    assert.deepEqual(pods, [
      ["web", "198.18.0.1", "fd00:18::0:1"],
      ["db", "198.18.0.2", "fd00:18::0:2"],
      ["ldap", "198.18.200.7", "fd00:18::1:1"],
    ]);
  });

  test("node setup links pods and routes remote pods via their node", () => {
    const [n1] = nodeSetups(plan);
    assert.deepEqual(n1?.ip, [
      "link set lo up",
      "link add ul0 type veth peer name n0 netns ms-t1-underlay",
      "addr add 198.19.0.1/24 dev ul0",
      "addr add fd00:19::1/64 dev ul0 nodad",
      "link set ul0 up",
      "link add veth0 type veth peer name eth0 netns ms-t1-web",
      "addr add 198.19.0.1/32 dev veth0",
      "addr add fe80::1/64 dev veth0 nodad",
      "link set veth0 up",
      "route add 198.18.0.1/32 dev veth0",
      "route add fd00:18::0:1/128 dev veth0",
      "link add veth1 type veth peer name eth0 netns ms-t1-db",
      "addr add 198.19.0.1/32 dev veth1",
      "addr add fe80::1/64 dev veth1 nodad",
      "link set veth1 up",
      "route add 198.18.0.2/32 dev veth1",
      "route add fd00:18::0:2/128 dev veth1",
      "route add 198.18.200.7/32 via 198.19.0.2 dev ul0",
      "route add fd00:18::1:1/128 via fd00:19::2 dev ul0",
    ]);
    assert.ok(n1?.sysctls.includes("net/ipv4/ip_forward=1"));
    assert.ok(n1?.sysctls.includes("net/ipv6/conf/all/forwarding=1"));
  });

  test("pods route everything via their node; the underlay bridges the nodes", () => {
    assert.deepEqual(podSetups(plan)[2]?.ip, [
      "link set lo up",
      "addr add 198.18.200.7/32 dev eth0",
      "addr add fd00:18::1:1/128 dev eth0 nodad",
      "link set eth0 up",
      "route add 198.19.0.2/32 dev eth0 scope link",
      "route add default via 198.19.0.2 dev eth0",
      "route add ::/0 via fe80::1 dev eth0",
    ]);
    assert.deepEqual(underlaySetup(plan).ip.slice(-4), [
      "link set n0 master br0",
      "link set n0 up",
      "link set n1 master br0",
      "link set n1 up",
    ]);
  });

  test("the probe matrix covers every other pod's ports, per family", () => {
    const probes = matrixProbes(plan, [4, 6]);
    assert.equal(
      probes.length,
      2 * 2 + 2 * 2,
      "web and ldap serve one port each, to 2 other pods, 2 families",
    );
    assert.ok(probes.every((p) => p.from !== p.to));
  });

  const bad: [string, Parameters<typeof planLab>[0], string, RegExp][] = [
    ["an id with upper case", spec, "T1", /lab id/],
    ["no nodes", { nodes: [] }, "t", /1\.\.200 nodes/],
    [
      "a pod named like a node",
      { nodes: [{ name: "a", pods: [{ name: "a" }] }] },
      "t",
      /used twice/,
    ],
    ["a node named underlay", { nodes: [{ name: "underlay", pods: [] }] }, "t", /used twice/],
    ["a name with a slash", { nodes: [{ name: "a/b", pods: [] }] }, "t", /must match/],
    [
      "port 0",
      { nodes: [{ name: "a", pods: [{ name: "p", ports: [{ port: 0, protocol: "TCP" }] }] }] },
      "t",
      /bad port/,
    ],
  ];
  for (const [name, s, id, message] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => planLab(s, id), message));
  }
});
