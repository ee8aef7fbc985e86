// Revocation (EnforcementConfig.revokeDenied): an established TCP connection that a policy
// change now denies is cut within the update when the setting is on, and carries on (as in
// Calico and Kubernetes) when it is off; a connection the change still allows is never cut.
// Real packets between network namespaces this test makes.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { namespace, podResource, topologyEnforcer, until } from "./kernel-fixtures.ts";
import { TestTopology } from "./netns-topology.ts";

const DB = 5432;
const upsert = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });

/** db admits web on DB, or (denied) nobody. */
const dbIngress = (allowWeb: boolean): Resource =>
  validResource({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "db-ingress", namespace: "shop" },
    spec: {
      podSelector: { matchLabels: { app: "db" } },
      policyTypes: ["Ingress"],
      ingress: allowWeb
        ? [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: DB }] }]
        : [],
    },
  });

/** open's ingress: no ICMP of either family, everything else. */
const noIcmpToOpen: Resource = validResource({
  apiVersion: "microseg.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "open-no-icmp", namespace: "shop" },
  spec: {
    selector: "app == 'open'",
    types: ["Ingress"],
    ingress: [
      { action: "Deny", protocol: "ICMP" },
      { action: "Deny", protocol: "ICMPv6" },
      { action: "Allow" },
    ],
  },
});

const PINGER = fileURLToPath(new URL("./pinger.py", import.meta.url));

/** An echo session (one ICMP id, a request every 0.2 s) from a pod's namespace: its replies. */
function pinger(netns: string, to: string) {
  const child = spawn("ip", ["netns", "exec", netns, "/usr/bin/python3", PINGER, to], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let replies = 0;
  createInterface({ input: child.stdout! }).on("line", (l) => {
    if (l.startsWith("reply ")) replies++;
  });
  return { replies: () => replies, stop: () => child.kill("SIGKILL") };
}

describe("revocation of established connections", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;

  before(async () => {
    topo = await TestTopology.create(["web", "db", "open"], { tcp: [DB], udp: [] }, {}, "mskern");
  });
  after(() => topo?.remove());

  const enforcerWith = (revokeDenied: boolean) => topologyEnforcer(topo.node, revokeDenied);
  const pods = () => ["web", "db", "open"].map((n) => podResource(n, topo.pod(n), { app: n }));

  for (const revokeDenied of [false, true]) {
    test(`revocation ${revokeDenied ? "on: the denied connection is cut" : "off: it is kept"}, the allowed one kept`, async () => {
      const enforcer = enforcerWith(revokeDenied);
      await enforcer.enforce([namespace, ...pods(), dbIngress(true)].map(upsert));
      const denied = await topo.open("web", "db", DB);
      const allowed = await topo.open("web", "open", DB);
      assert.ok(denied && (await denied.send("before")), "web -> db established");
      assert.ok(allowed && (await allowed.send("before")), "web -> open established");
      const result = await enforcer.enforce([upsert(dbIngress(false))]);
      assert.equal(
        await topo.probe({ from: "web", to: "db", protocol: "TCP", port: DB }),
        false,
        "new connections to db are denied",
      );
      assert.equal(await denied.send("after"), !revokeDenied, "the denied connection");
      assert.equal(result.revoked > 0, revokeDenied, `${result.revoked} revoked`);
      assert.equal(await allowed.send("after"), true, "the still allowed connection carries on");
    });
  }

  for (const [family, revokeDenied] of [
    [4, false],
    [4, true],
    [6, true],
  ] as const) {
    test(`an ICMPv${family} echo session a policy now denies: ${revokeDenied ? "cut" : "kept"}`, async () => {
      const enforcer = enforcerWith(revokeDenied);
      await enforcer.enforce([namespace, ...pods(), dbIngress(true)].map(upsert));
      const open = topo.pod("open");
      const ping = pinger(topo.pod("web").netns, family === 4 ? open.ip : open.ip6);
      try {
        await until("web's ping to open answered", () => ping.replies() >= 3, 5000);
        const result = await enforcer.enforce([upsert(noIcmpToOpen)]);
        assert.equal(result.revoked > 0, revokeDenied, `${result.revoked} revoked`);
        if (revokeDenied) {
          // A reply already on its way may still arrive; then none for seven requests.
          await new Promise((r) => setTimeout(r, 300));
          const at = ping.replies();
          await new Promise((r) => setTimeout(r, 1500));
          assert.equal(ping.replies(), at, "the echo session is cut and new requests denied");
        } else {
          const at = ping.replies();
          await until("the established session answering on", () => ping.replies() >= at + 3, 5000);
        }
      } finally {
        ping.stop();
      }
    });
  }
});
