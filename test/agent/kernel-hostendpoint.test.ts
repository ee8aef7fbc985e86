// Host endpoints in the kernel: a HostEndpoint for the node, locked down by a global policy,
// is enforced on the node's input hook, while the failsafe ports keep the node reachable for
// its own control traffic whatever the policy says, and never for workloads.

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Resource, validResource } from "../../src/model/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import {
  type AgentProcess,
  NODE,
  namespace,
  nodeListeners,
  podResource,
  startTopologyAgent,
  until,
  writeManifests,
} from "./kernel-fixtures.ts";
import { TestTopology } from "./netns-topology.ts";

const NODE_ADDRESS = "198.19.0.1";
const FAILSAFE_PORT = 22;
const SERVICE_PORT = 8080;

const hostEndpoint: Resource = validResource({
  apiVersion: "microseg.io/v1",
  kind: "HostEndpoint",
  metadata: { name: `${NODE}-eth0`, labels: { role: "node" } },
  spec: { node: NODE, expectedIPs: [NODE_ADDRESS] },
});

/** Only admin pods may reach the node; everything else into it is denied. */
const lockNode: Resource = validResource({
  apiVersion: "microseg.io/v1",
  kind: "GlobalNetworkPolicy",
  metadata: { name: "lock-node" },
  spec: {
    selector: "role == 'node'",
    types: ["Ingress"],
    ingress: [{ action: "Allow", protocol: "TCP", source: { selector: "app == 'admin'" } }],
  },
});

describe("host endpoints and failsafe ports", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let dir: string;
  let listeners: ChildProcess | undefined;
  let agent: AgentProcess | undefined;

  before(async () => {
    topo = await TestTopology.create(["client", "admin"], { tcp: [80], udp: [] });
    dir = mkdtempSync(join(tmpdir(), "msx-hep-"));
    listeners = nodeListeners(topo.node, [FAILSAFE_PORT, SERVICE_PORT]);
  });
  after(() => {
    agent?.child.kill("SIGKILL");
    listeners?.kill("SIGKILL");
    topo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const reach = (from: string, port: number) =>
    topo.probe({ from, to: NODE_ADDRESS, protocol: "TCP", port, timeoutMs: 300 });

  test("the node's input is enforced after the workload's egress; failsafe ports are not for workloads", async (t) => {
    // The listeners start asynchronously: bounded wait for the service port to answer.
    for (let i = 0; i < 50 && !(await reach("client", SERVICE_PORT)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await reach("client", SERVICE_PORT), "open before any policy");
    assert.ok(await reach("client", FAILSAFE_PORT), "open before any policy");

    const file = join(dir, "cluster.yaml");
    writeManifests(file, [
      namespace,
      podResource("client", topo.pod("client"), { app: "client" }),
      podResource("admin", topo.pod("admin"), { app: "admin" }),
      hostEndpoint,
      lockNode,
    ]);
    agent = startTopologyAgent(topo.node, file, dir, [
      "--failsafe-in",
      `tcp:${FAILSAFE_PORT}`,
      // Workload traffic to the node goes on to the host endpoint's policy after its egress.
      "--endpoint-to-host",
      "Return",
    ]);
    await until("ready", () => existsSync(join(dir, "ready")));

    assert.equal(await reach("client", SERVICE_PORT), false, "client -> node service: denied");
    assert.equal(await reach("admin", SERVICE_PORT), true, "admin -> node service: allowed");
    // Failsafe ports are for the host's own traffic and host endpoints, never for workloads.
    assert.equal(await reach("client", FAILSAFE_PORT), false, "client -> node failsafe port");
    t.diagnostic("HostEndpoint enforced on input; failsafe port not open to workloads");
  });
});
