// Address reuse in the kernel: a pod is deleted and its address given to a pod with other labels
// within the same second; records read only after the change are still attributed to the pod
// that held the address when each packet was sent. Real packets, real ulogd2, NodeFlows wiring.
// As in the agent's hostile suite, the address's holders are WorkloadEndpoints on the server's
// interface (a CNI reusing it), so source validation binds the address to that interface.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import { type FlowLog, NodeFlows } from "../../src/flows/index.ts";
import { type ResourceEvent, validResource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { NODE, until } from "../agent/kernel-fixtures.ts";
import {
  POD_IFACE_PREFIX,
  type TestPod,
  TestTopology,
  WORKLOAD_IFACES,
} from "../agent/netns-topology.ts";
import { rootSkipReason } from "../nft/needs-root.ts";

const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
  nflogGroup: 5,
};

const pod = (name: string, p: TestPod, labels: Record<string, string>) =>
  validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "prod", labels },
    spec: { nodeName: NODE, containers: [{ name: "c" }] },
    status: { podIP: p.ip, podIPs: [{ ip: p.ip }, { ip: p.ip6 }] },
  });

/** A workload on `p`'s interface and addresses, whatever its name. */
const endpoint = (name: string, p: TestPod, labels: Record<string, string>) =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "WorkloadEndpoint",
    metadata: { name, namespace: "prod", labels },
    spec: {
      node: NODE,
      orchestrator: "k8s",
      interfaceName: p.iface,
      ipNetworks: [`${p.ip}/32`, `${p.ip6}/128`],
    },
  });

describe("address reuse within a second, in the kernel", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let dir: string;
  let flows: NodeFlows;
  let enforcer: Enforcer;
  const logs: FlowLog[] = [];
  const apply = async (events: ResourceEvent[]) => {
    await enforcer.enforce(events);
    flows.apply(events);
  };

  before(async () => {
    topo = await TestTopology.create(
      ["client", "server"],
      { tcp: [80], udp: [] },
      { client: "prod" },
    );
    dir = mkdtempSync(join(tmpdir(), "msx-flows-reuse-"));
    enforcer = new Enforcer({
      node: NODE,
      nft: new KernelNftables({ netns: topo.node }),
      enforcement: cfg,
    });
    // Read only when the test says, so records are read after the address changed hands.
    flows = new NodeFlows({
      capture: { dir, netns: topo.node, groups: [cfg.nflogGroup], pollMs: 3_600_000 },
      defaultAlert: false,
    });
    // The probes' records only: the node's own IPv6 (MLD from fe80::1 out of the workload
    // interfaces) is dropped and logged as spoofed traffic too.
    flows.pipeline.logs.subscribe((l) => {
      if (l.fields.dest_ip === topo.pod("server").ip) logs.push(l);
    });
    await apply(
      [
        validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "prod" } }),
        validResource({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "default-deny", namespace: "prod" },
          spec: { podSelector: {}, policyTypes: ["Ingress"] },
        }),
        pod("client", topo.pod("client"), { app: "client" }),
        endpoint("old", topo.pod("server"), { app: "old" }),
      ].map((resource) => ({ type: "upsert" as const, resource })),
    );
    await flows.start();
  });

  after(async () => {
    await flows?.stop();
    topo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("each record goes to the pod that held the address when the packet was sent", async () => {
    assert.equal(
      await topo.probe({ from: "client", to: "server", protocol: "TCP", port: 80, timeoutMs: 200 }),
      false,
    );
    const changeAt = Date.now();
    await apply([
      { type: "delete", key: "microseg.io/WorkloadEndpoint/prod/old" },
      { type: "upsert", resource: endpoint("new", topo.pod("server"), { app: "new" }) },
    ]);
    assert.ok(Date.now() - changeAt < 1000, "the address changed hands within a second");
    assert.equal(
      await topo.probe({ from: "client", to: "server", protocol: "TCP", port: 80, timeoutMs: 200 }),
      false,
    );
    await until(
      "records of both probes",
      () => {
        flows.capture!.poll();
        return new Set(logs.map((l) => l.fields.dest_name)).size >= 2;
      },
      5000,
    );
    const before = logs.filter((l) => l.time < changeAt);
    const afterChange = logs.filter((l) => l.time >= changeAt);
    assert.ok(before.length > 0 && afterChange.length > 0);
    assert.deepEqual(
      [...new Set(before.map((l) => `${l.fields.dest_name} app=${l.destLabels.app}`))],
      ["old app=old"],
    );
    assert.deepEqual(
      [...new Set(afterChange.map((l) => `${l.fields.dest_name} app=${l.destLabels.app}`))],
      ["new app=new"],
    );
    assert.ok(logs.every((l) => l.fields.policy === "prod/default-deny"));
  });
});
