// The hostile workload: a pod with root in its own network namespace forges packets (scapy)
// against its node and its neighbours. Every attack must be blocked, every legitimate flow
// must stay open. The forger is checked to work first, so a blocked attack is not just a
// broken forger; the receiving pod sniffs its own interface, so "blocked" means the packet
// never arrived.

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { KernelConntrack } from "../../src/dataplane/conntrack.ts";
import { bootstrapTransaction, DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { arrivals, forge } from "./forger.ts";
import {
  addressTaker,
  assertTakerJudgedAsItself,
  conntrackList,
  NODE,
  namespace,
  nodeListeners,
  podResource,
  webToDb,
} from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const NODE_ADDRESS = "198.19.0.1";
const DB_TCP = 5432;
const DB_UDP = 5353;
const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
};
/** A pod of another node that policy lets reach db: its address is worth forging. */
const REMOTE = { ip: "198.18.1.5", ip6: "fd00:18:1::5" };

const upsert = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });

describe("a hostile workload against its node and neighbours", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let listeners: ChildProcess | undefined;
  let enforcer: Enforcer;

  before(async () => {
    topo = await TestTopology.create(["web", "db", "evil", "open"], {
      tcp: [DB_TCP, 2379],
      udp: [DB_UDP, 53],
    });
    listeners = nodeListeners(topo.node, [22, 2379]);
    enforcer = new Enforcer({
      node: NODE,
      nft: new KernelNftables({ netns: topo.node }),
      conntrack: new KernelConntrack({ netns: topo.node }),
      enforcement: cfg,
    });
  });
  after(() => {
    listeners?.kill("SIGKILL");
    topo?.remove();
  });

  const pod = (name: string) => topo.pod(name);
  const resources = (): Resource[] => [
    namespace,
    ...["web", "db", "evil", "open"].map((n) => podResource(n, pod(n), { app: n })),
    validResource({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "remote", namespace: "shop", labels: { app: "web" } },
      spec: { nodeName: "node-2", containers: [{ name: "c" }] },
      status: { podIPs: [{ ip: REMOTE.ip }, { ip: REMOTE.ip6 }] },
    }),
    webToDb("db-from-web", [
      { protocol: "TCP", port: DB_TCP },
      { protocol: "UDP", port: DB_UDP },
    ]),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "evil-deny-egress", namespace: "shop" },
      spec: { podSelector: { matchLabels: { app: "evil" } }, policyTypes: ["Egress"] },
    },
  ];

  test("the start-up table closes input and output of workload interfaces too", async () => {
    // Reachable before microseg: the checks below would prove nothing otherwise.
    for (
      let i = 0;
      i < 50 &&
      !(await forge(pod("open").netns, "connect", "tcp", NODE_ADDRESS, 22, 0.3)).connected;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(
      (await forge(pod("open").netns, "connect", "tcp", NODE_ADDRESS, 22, 0.5)).connected,
      true,
    );
    assert.equal(
      (await forge(topo.node, "connect", "tcp", pod("open").ip, DB_TCP, 0.5)).connected,
      true,
    );
    await new KernelNftables({ netns: topo.node }).run(bootstrapTransaction(cfg));
    const toNode = await forge(pod("open").netns, "connect", "tcp", NODE_ADDRESS, 22, 0.5);
    assert.equal(toNode.connected, false, "pod -> node ssh at start-up (input)");
    const fromNode = await forge(topo.node, "connect", "tcp", pod("open").ip, DB_TCP, 0.5);
    assert.equal(fromNode.connected, false, "node -> pod at start-up (output)");
    await enforcer.enforce(resources().map(upsert));
  });

  test("the forger works, and the legitimate flows are open", async () => {
    const own = await arrivals(pod("open").netns, "udp", DB_UDP, () =>
      forge(pod("evil").netns, "send", pod("evil").ip, pod("open").ip, "udp", 40000, DB_UDP, 3),
    );
    // evil's egress is denied: the forger is proved on a pod without policy, on the same node.
    assert.equal(own, 0, "evil's own datagrams are denied by its egress policy");
    const fromOpen = await arrivals(pod("db").netns, "udp", 40001, () =>
      forge(pod("open").netns, "send", pod("open").ip, pod("db").ip, "udp", 40002, 40001, 3),
    );
    assert.equal(fromOpen, 0, "db's ingress policy denies open");
    const toOpen = await arrivals(pod("open").netns, "tcp", DB_TCP, () =>
      forge(pod("web").netns, "send", pod("web").ip, pod("open").ip, "tcp", 40003, DB_TCP, 2),
    );
    assert.ok(toOpen >= 1, "a forged packet with the sender's own address arrives");
    for (const family of [4, 6] as const) {
      for (const protocol of ["TCP", "UDP"] as const) {
        const port = protocol === "TCP" ? DB_TCP : DB_UDP;
        assert.ok(
          await topo.probe({ from: "web", to: "db", protocol, port, family }),
          `web -> db ${port}/${protocol} v${family}`,
        );
      }
    }
  });

  for (const family of [4, 6] as const) {
    for (const proto of ["udp", "tcp"] as const) {
      test(`spoofed ${proto.toUpperCase()} v${family} with an allowed pod's address, same node and across nodes, is dropped`, async () => {
        const addr = (p: { ip: string; ip6: string }) => (family === 4 ? p.ip : p.ip6);
        const port = proto === "udp" ? DB_UDP : DB_TCP;
        for (const [who, spoofed] of [
          ["web (same node)", addr(pod("web"))],
          ["remote (other node)", addr(REMOTE)],
        ] as const) {
          const seen = await arrivals(pod("db").netns, proto, port, () =>
            forge(pod("evil").netns, "send", spoofed, addr(pod("db")), proto, 41000, port, 3),
          );
          assert.equal(seen, 0, `evil as ${who} -> db ${port}/${proto} v${family}`);
          // Even where policy is open, no workload passes as another.
          const open = await arrivals(pod("open").netns, proto, port, () =>
            forge(pod("evil").netns, "send", spoofed, addr(pod("open")), proto, 41001, port, 3),
          );
          assert.equal(open, 0, `evil as ${who} -> open ${port}/${proto} v${family}`);
        }
      });
    }
  }

  test("a hairpinned spoofed datagram opens no conntrack channel to a port nobody may reach", async () => {
    for (const family of [4, 6] as const) {
      const [self, peer] =
        family === 4 ? [pod("open").ip, pod("db").ip] : [pod("open").ip6, pod("db").ip6];
      const r = await forge(pod("open").netns, "hairpin", self, peer, DB_UDP, 42000 + family, 0.7);
      assert.equal(r.echoed, false, `open -> db ${DB_UDP}/udp v${family} through a forged entry`);
      const entries = conntrackList(
        topo.node,
        "-f",
        family === 4 ? "ipv4" : "ipv6",
        "-p",
        "udp",
        "--orig-src",
        peer,
        "--orig-port-src",
        String(DB_UDP),
      );
      assert.equal(entries.trim(), "", `no entry from db:${DB_UDP} was created (v${family})`);
    }
  });

  test("workloads reach neither the node's failsafe ports nor its services", async () => {
    for (const from of ["evil", "open"]) {
      for (const port of [22, 2379]) {
        const r = await forge(pod(from).netns, "connect", "tcp", NODE_ADDRESS, port, 0.5);
        assert.equal(r.connected, false, `${from} -> node ${port}/tcp`);
      }
    }
  });

  test("outbound failsafe ports never bypass a pod's ingress policy", async () => {
    for (const [protocol, port] of [
      ["udp", 53],
      ["tcp", 2379],
    ] as const) {
      const db = await forge(topo.node, "connect", protocol, pod("db").ip, port, 0.5);
      assert.equal(db.connected, false, `node -> db ${port}/${protocol}`);
      const open = await forge(topo.node, "connect", protocol, pod("open").ip, port, 0.5);
      assert.equal(open.connected, true, `node -> open ${port}/${protocol} (no ingress policy)`);
    }
  });

  test("an address given to a new pod carries none of the old pod's connections", async () => {
    const conn = await topo.open("web", "db", DB_TCP);
    assert.ok(conn && (await conn.send("before")), "web -> db established");
    // web goes; a pod that db does not admit gets its address and interface in the same batch.
    const newcomer = addressTaker(pod("web"));
    const result = await enforcer.enforce([
      { type: "delete", key: "core/Pod/shop/web" },
      upsert(newcomer),
    ]);
    assert.equal(result.forgotten, 2, "web's two addresses were forgotten");
    assert.equal(await conn.send("after"), false, "the old connection is cut");
    await assertTakerJudgedAsItself(topo, DB_TCP);
  });
});
