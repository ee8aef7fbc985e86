// Calico rule `services` with real packets: web's egress is allowed to the db Service only,
// on its endpoints' ports. The EndpointSlice then moves to another pod and port: the kernel's
// service set follows (one transaction), and every probe equals MemoryDataplane's verdict.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource, validResources } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { Expected, NODE, namespace, podResource } from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
};
const upsert = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });

function slice(addresses: string[], port: number, family: 4 | 6): Resource {
  return validResource({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `db-v${family}`,
      namespace: "shop",
      labels: { "kubernetes.io/service-name": "db" },
    },
    addressType: family === 4 ? "IPv4" : "IPv6",
    endpoints: [{ addresses }],
    ports: [{ name: "", port, protocol: "TCP" }],
  });
}

describe("rule services in the kernel", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  before(async () => {
    topo = await TestTopology.create(["web", "db", "cache"], { tcp: [80, 5432], udp: [] });
  });
  after(() => topo?.remove());

  test("only the Service's endpoints on their ports, following the slices", async () => {
    const pg = [{ name: "pg", containerPort: 5432, protocol: "TCP" }];
    const base = [
      namespace,
      podResource("web", topo.pod("web"), { app: "web" }),
      podResource("db", topo.pod("db"), { app: "db" }, pg),
      podResource("cache", topo.pod("cache"), { app: "cache" }),
      ...validResources([
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "db", namespace: "shop" },
          spec: { selector: { app: "db" }, ports: [{ port: 5432, targetPort: "pg" }] },
        },
        {
          apiVersion: "projectcalico.org/v3",
          kind: "NetworkPolicy",
          metadata: { name: "web-to-db", namespace: "shop" },
          spec: {
            selector: "app == 'web'",
            types: ["Egress"],
            egress: [
              { action: "Allow", protocol: "TCP", destination: { services: { name: "db" } } },
            ],
          },
        },
      ]),
    ];
    const db = topo.pod("db");
    const cache = topo.pod("cache");
    const enforcer = new Enforcer({
      node: NODE,
      nft: new KernelNftables({ netns: topo.node }),
      enforcement: cfg,
    });
    const expected = new Expected();
    const apply = async (events: ResourceEvent[]) => {
      expected.apply(events);
      await enforcer.enforce(events);
    };
    const probeAll = async () => {
      const flows = (["db", "cache"] as const).flatMap((to) =>
        ([4, 6] as const).flatMap((family) =>
          [80, 5432].map((port) => ({ from: "web", to, family, protocol: "TCP" as const, port })),
        ),
      );
      return Promise.all(
        flows.map(async (f) => {
          const [s, d] =
            f.family === 4
              ? [topo.pod(f.from).ip, topo.pod(f.to).ip]
              : [topo.pod(f.from).ip6, topo.pod(f.to).ip6];
          const want = expected.allowed(s, d, f.protocol, f.port);
          const got = await topo.probe({ ...f, timeoutMs: 500 });
          return { name: `${f.to}:${f.port} v${f.family}`, want, got };
        }),
      );
    };
    const allowedNow = async () => {
      const results = await probeAll();
      assert.deepEqual(
        results.filter((r) => r.want !== r.got).map((r) => `${r.name}: kernel ${r.got}`),
        [],
      );
      return results.filter((r) => r.got).map((r) => r.name);
    };

    await apply([...base, slice([db.ip], 5432, 4), slice([db.ip6], 5432, 6)].map(upsert));
    assert.deepEqual(await allowedNow(), ["db:5432 v4", "db:5432 v6"]);

    await apply([upsert(slice([cache.ip], 80, 4)), upsert(slice([cache.ip6], 80, 6))]);
    assert.deepEqual(await allowedNow(), ["cache:80 v4", "cache:80 v6"]);
  });
});
