// ICMP errors that conntrack marks related to a connection: accepted from an end of that
// connection (the peer's port unreachable) and from a router on the path (the node's
// fragmentation needed), dropped from a local workload that is neither end, even when its
// forged error quotes a valid inner header (conntrack alone would call it related). Real
// packets in network namespaces this test makes (scapy forges the errors).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { arrivals, forge } from "./forger.ts";
import { namespace, podResource } from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const ECHO = 5353;
const CLOSED = 5354;
const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
};
const upsert = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });

describe("ICMP errors related to a connection", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;

  before(async () => {
    topo = await TestTopology.create(
      ["web", "peer", "evil"],
      { tcp: [], udp: [ECHO] },
      {},
      "mskern",
    );
    const enforcer = new Enforcer({
      node: "node-1",
      nft: new KernelNftables({ netns: topo.node }),
      enforcement: cfg,
    });
    await enforcer.enforce(
      [
        namespace,
        ...["web", "peer", "evil"].map((n) => podResource(n, topo.pod(n), { app: n })),
        validResource({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "evil-isolated", namespace: "shop" },
          spec: {
            podSelector: { matchLabels: { app: "evil" } },
            policyTypes: ["Ingress", "Egress"],
          },
        }),
      ].map(upsert),
    );
  });
  after(() => topo?.remove());

  for (const family of [4, 6] as const) {
    const addr = (name: string) => (family === 4 ? topo.pod(name).ip : topo.pod(name).ip6);

    test(`v${family}: the peer's errors pass, a third pod's forgery with a valid inner header is dropped`, async () => {
      const sport = 43000 + family;
      const flow = await forge(
        topo.pod("web").netns,
        "udpflow",
        addr("web"),
        addr("peer"),
        ECHO,
        sport,
        0,
        1,
      );
      assert.equal(flow.echoed, true, "web -> peer is a tracked UDP flow");
      const quote = [addr("web"), addr("peer"), sport, ECHO] as const;
      const fromPeer = await arrivals(topo.pod("web").netns, "icmp", ECHO, () =>
        forge(topo.pod("peer").netns, "unreach", addr("peer"), addr("web"), ...quote),
      );
      assert.ok(fromPeer >= 1, "the same crafted error from the peer arrives");
      const fromEvil = await arrivals(topo.pod("web").netns, "icmp", ECHO, () =>
        forge(topo.pod("evil").netns, "unreach", addr("evil"), addr("web"), ...quote),
      );
      assert.equal(fromEvil, 0, "evil's error about web's connection is dropped");
      // A genuine one, from the peer's kernel: port unreachable for a closed port.
      const genuine = await arrivals(topo.pod("web").netns, "icmp", CLOSED, () =>
        forge(
          topo.pod("web").netns,
          "udpflow",
          addr("web"),
          addr("peer"),
          CLOSED,
          sport + 10,
          0,
          0.3,
        ),
      );
      assert.ok(genuine >= 1, "the peer's port unreachable arrives");
    });
  }

  test("v4: the node, a router on the path, gets fragmentation needed through", async () => {
    execFileSync("ip", [
      "netns",
      "exec",
      topo.node,
      "ip",
      "link",
      "set",
      topo.pod("peer").iface,
      "mtu",
      "1280",
    ]);
    const web = topo.pod("web");
    const seen = await arrivals(web.netns, "icmp", ECHO, () =>
      forge(web.netns, "udpflow", web.ip, topo.pod("peer").ip, ECHO, 43100, 1400, 1),
    );
    assert.ok(seen >= 1, "the node's fragmentation needed reaches web");
  });
});
