// Manifests to a lab and back, without root: which pods, nodes and ports a manifest set asks for,
// and the copy the agents enforce, with the lab's nodes and addresses filled in.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stringify } from "yaml";
import { labManifests, labSpecFromManifests, planLab } from "../../src/lab/index.ts";
import { parseManifests, type Resource } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/world.ts";

const text = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-7
  containers: [{name: c, ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]}]
status: {podIP: 198.18.5.5, podIPs: [{ip: 198.18.5.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: shop}
spec: {hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
status: {podIP: 10.9.9.9, hostIP: 10.9.9.9}
---
apiVersion: microseg.io/v1
kind: WorkloadEndpoint
metadata: {name: vm1, namespace: shop, labels: {app: db}}
spec:
  node: node-1
  ipNetworks: [fd00:77::1/128]
  ports: [{name: pg, port: 5432, protocol: SCTP}]
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
`;

function resources(): Resource[] {
  const result = parseManifests(text, "test.yaml");
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.resources;
}

describe("labSpecFromManifests", () => {
  test("a pod per Pod and WorkloadEndpoint, with the nodes and addresses they give", () => {
    const spec = labSpecFromManifests(resources(), { nodes: 3 });
    assert.deepEqual(spec.nodes, ["node-1", "node-2", "node-7"]);
    assert.deepEqual(spec.pods, [
      { name: "shop/web", node: "node-7", ip: "198.18.5.5" },
      { name: "shop/agent", hostNetwork: true },
      { name: "shop/vm1", node: "node-1", ip6: "fd00:77::1" },
    ]);
  });

  test("every pod serves every declared port, plus the ones asked for", () => {
    const spec = labSpecFromManifests(resources(), { ports: [{ port: 1, protocol: "TCP" }] });
    assert.deepEqual(
      planLab(spec, "m1").ports.map((p) => `${p.port}/${p.protocol}`),
      ["5432/SCTP", "1/TCP", "8080/TCP", "9100/TCP", "53/UDP"],
    );
  });

  test("named nodes are exactly the lab's", () => {
    assert.deepEqual(labSpecFromManifests(resources(), { nodes: ["a"] }).nodes, ["a"]);
  });
});

describe("labManifests", () => {
  const rs = resources();
  const plan = planLab(labSpecFromManifests(rs), "m1");
  const copy = labManifests(rs, plan);

  test("the copy judges the addresses and nodes the lab gave", () => {
    const world = buildWorld(copy);
    const endpoints = world.cluster
      .workloads()
      .map((e) => [e.id, e.node, e.addresses.map((a) => a.text)]);
    assert.deepEqual(endpoints, [
      ["shop/web", "node-7", ["198.18.5.5", "fd00:18::1"]],
      ["shop/agent", "node-1", ["198.19.0.1", "fd00:19::1"]],
      ["shop/vm1", "node-1", ["198.18.0.2", "fd00:77::1"]],
    ]);
    assert.deepEqual(
      world.cluster.nodes[0]?.addresses.map((a) => a.text),
      ["198.19.0.1", "fd00:19::1"],
    );
  });

  test("the copy loads again as a valid set; policies are untouched", () => {
    const again = parseManifests(copy.map((r) => stringify(r)).join("---\n"), "copy.yaml");
    assert.ok(again.ok);
    assert.deepEqual(copy.at(-1), rs.at(-1));
  });
});
