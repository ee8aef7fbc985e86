// The kind registry: lookup (with the Calico alias), scope, and the stable key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isNamespaced, KINDS, lookupKind, resourceKey } from "../../src/model/index.ts";
import { expectValid } from "./helpers.ts";

test("each (apiVersion, kind) is registered once", () => {
  const ids = KINDS.map((k) => `${k.apiVersion} ${k.kind}`);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(KINDS.length, 27);
});

test("lookupKind resolves projectcalico.org/v3 to microseg.io/v1", () => {
  assert.equal(lookupKind("projectcalico.org/v3", "Tier"), lookupKind("microseg.io/v1", "Tier"));
  assert.equal(lookupKind("networking.k8s.io/v1", "NetworkPolicy")?.group, "networking.k8s.io");
  assert.equal(lookupKind("v1", "Pod")?.group, "");
  assert.equal(lookupKind("v1", "Service")?.group, "");
  assert.equal(lookupKind("v1", "ConfigMap"), undefined);
  assert.equal(lookupKind("projectcalico.org/v3", "Pod"), undefined);
});

test("isNamespaced", () => {
  const namespaced = KINDS.filter((k) => isNamespaced(k.kind)).map(
    (k) => `${k.apiVersion} ${k.kind}`,
  );
  assert.deepEqual(namespaced, [
    "v1 Pod",
    "v1 ServiceAccount",
    "v1 Service",
    "apps/v1 Deployment",
    "apps/v1 ReplicaSet",
    "apps/v1 StatefulSet",
    "apps/v1 DaemonSet",
    "batch/v1 Job",
    "batch/v1 CronJob",
    "discovery.k8s.io/v1 EndpointSlice",
    "networking.k8s.io/v1 NetworkPolicy",
    "microseg.io/v1 NetworkPolicy",
    "microseg.io/v1 StagedNetworkPolicy",
    "microseg.io/v1 StagedKubernetesNetworkPolicy",
    "microseg.io/v1 NetworkSet",
    "microseg.io/v1 WorkloadEndpoint",
  ]);
});

test("resourceKey is group/Kind/namespace/name", () => {
  const cases: [unknown, string][] = [
    [{ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } }, "core/Pod/default/p"],
    [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }, "core/Namespace//shop"],
    [
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "web", namespace: "prod" },
        spec: {},
      },
      "networking.k8s.io/NetworkPolicy/prod/web",
    ],
    [
      {
        apiVersion: "projectcalico.org/v3",
        kind: "NetworkPolicy",
        metadata: { name: "web", namespace: "prod" },
      },
      "microseg.io/NetworkPolicy/prod/web",
    ],
    [
      {
        apiVersion: "policy.networking.k8s.io/v1alpha1",
        kind: "BaselineAdminNetworkPolicy",
        metadata: { name: "default" },
        spec: { subject: { namespaces: {} } },
      },
      "policy.networking.k8s.io/BaselineAdminNetworkPolicy//default",
    ],
  ];
  for (const [input, key] of cases) assert.equal(resourceKey(expectValid(input)), key);
});

test("a v1 Node loads with its labels and addresses", () => {
  const node = lookupKind("v1", "Node")!.schema.parse({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-1", labels: { "kubernetes.io/os": "linux" }, uid: "x" },
    status: { addresses: [{ type: "InternalIP", address: "198.18.0.2" }], capacity: { cpu: "2" } },
  });
  assert.deepEqual((node as { status?: { addresses?: unknown } }).status?.addresses, [
    { type: "InternalIP", address: "198.18.0.2" },
  ]);
  assert.throws(() =>
    lookupKind("v1", "Node")!.schema.parse({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-1" },
      status: { addresses: [{ type: "InternalIP", address: "not-an-ip" }] },
    }),
  );
});
