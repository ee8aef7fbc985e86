// ServiceAccount objects with labels, as a cluster dump has them: Calico's
// serviceAccountSelector (policy) and serviceAccounts.selector (rule) match the account's
// labels. The offline evaluator and the incremental engine's memory dataplane must agree,
// also when the account is relabelled or deleted after its pods exist.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { desiredState } from "../../src/engine/desired.ts";
import { Engine } from "../../src/engine/graph.ts";
import {
  parseResource,
  type Resource,
  resourceKey,
  validResources,
} from "../../src/model/index.ts";
import { stateText } from "../engine/state.ts";
import { judge } from "../policy/fixtures.ts";

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: orders
  namespace: shop
  labels: {db-access: "true"}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: orders-7d4f9, namespace: shop, labels: {app: orders}}
spec:
  serviceAccountName: orders
  containers: [{name: orders, image: orders:1.4}]
status: {phase: Running, podIP: 198.18.5.10, podIPs: [{ip: 198.18.5.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-5c8b7, namespace: shop, labels: {app: web}}
spec:
  serviceAccountName: web
  containers: [{name: web, image: web:2.0}]
status: {phase: Running, podIP: 198.18.5.11, podIPs: [{ip: 198.18.5.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: postgres-0, namespace: shop, labels: {app: postgres}}
spec:
  containers:
  - name: postgres
    image: postgres:16
    ports: [{name: pg, containerPort: 5432}]
status: {phase: Running, podIP: 198.18.5.20, podIPs: [{ip: 198.18.5.20}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-clients, namespace: shop}
spec:
  selector: app == 'postgres'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      serviceAccounts: {selector: db-access == 'true'}
    destination: {ports: [pg]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: audited-egress}
spec:
  serviceAccountSelector: db-access == 'true'
  types: [Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination: {ports: [5432]}
`;

function resources(): Resource[] {
  const docs = manifests
    .split(/^---$/m)
    .map((d) => parse(d))
    .filter(Boolean);
  return validResources(docs);
}

function verdict(rs: Resource[], from: string, port = 5432): boolean {
  return judge(rs, from, "shop/postgres-0", port).allowed;
}

function withAccount(rs: Resource[], labels: Record<string, string> | undefined): Resource[] {
  return rs.flatMap((r) => {
    if (r.kind !== "ServiceAccount" || r.metadata.name !== "orders") return [r];
    if (labels === undefined) return [];
    const result = parseResource({ ...r, metadata: { ...r.metadata, labels } });
    assert.ok(result.ok);
    return [result.value];
  });
}

describe("ServiceAccount labels (serviceAccountSelector, serviceAccounts.selector)", () => {
  test("the account's labels select its pods; others stay isolated", () => {
    const rs = resources();
    assert.equal(verdict(rs, "shop/orders-7d4f9"), true, "orders (db-access) -> postgres 5432");
    assert.equal(verdict(rs, "shop/web-5c8b7"), false, "web -> postgres 5432");
    // The GlobalNetworkPolicy selects orders by its account: only 5432 is allowed out.
    assert.equal(judge(rs, "shop/orders-7d4f9", "shop/web-5c8b7", 80).allowed, false);
    assert.equal(judge(rs, "shop/web-5c8b7", "shop/orders-7d4f9", 80).allowed, true);
  });

  test("relabelled or deleted, the account takes its pods' access with it", () => {
    assert.equal(
      verdict(withAccount(resources(), { "db-access": "false" }), "shop/orders-7d4f9"),
      false,
    );
    assert.equal(verdict(withAccount(resources(), undefined), "shop/orders-7d4f9"), false);
  });

  test("the engine, fed events, equals the from-scratch state and the evaluator", () => {
    const all = resources();
    const account = all.find((r) => r.kind === "ServiceAccount" && r.metadata.name === "orders")!;
    const engine = new Engine();
    const dataplane = new MemoryDataplane();
    const step = (live: Resource[], event: Parameters<Engine["ingest"]>[0]) => {
      engine.ingest(event);
      dataplane.applyDeltas(engine.flush());
      assert.equal(stateText(dataplane.state()), stateText(desiredState(live)));
      const packet = { destination: "198.18.5.20", protocol: "TCP" as const, port: 5432 };
      const got = dataplane.verdict({ ...packet, source: "198.18.5.10" }).allowed;
      assert.equal(
        got,
        verdict(live, "shop/orders-7d4f9"),
        "orders -> postgres: engine vs evaluator",
      );
      return got;
    };
    // Pods and policies first, the account last (as a watch may deliver them).
    const withoutAccount = all.filter((r) => r !== account);
    assert.equal(
      step(
        withoutAccount,
        withoutAccount.map((resource) => ({ type: "upsert" as const, resource })),
      ),
      false,
    );
    assert.equal(step(all, { type: "upsert", resource: account }), true);
    const relabelled = withAccount(all, { "db-access": "false" });
    const changed = relabelled.find(
      (r) => r.kind === "ServiceAccount" && r.metadata.name === "orders",
    )!;
    assert.equal(step(relabelled, { type: "upsert", resource: changed }), false);
    assert.equal(step(all, { type: "upsert", resource: account }), true);
    assert.equal(step(withoutAccount, { type: "delete", key: resourceKey(account) }), false);
  });

  test("Service and EndpointSlice of a dump load; a bad slice address is named", () => {
    const service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "api", namespace: "shop" },
      spec: {
        selector: { app: "orders" },
        ports: [{ port: 80, targetPort: "http" }],
        clusterIP: "10.96.0.10",
      },
    };
    const slice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "api-x7k2p",
        namespace: "shop",
        labels: { "kubernetes.io/service-name": "api" },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["198.18.5.10"], conditions: { ready: true } }],
      ports: [{ name: "", port: 8080, protocol: "TCP" }],
    };
    assert.ok(parseResource(service).ok);
    assert.ok(parseResource(slice).ok);
    const bad = parseResource({ ...slice, endpoints: [{ addresses: ["api.shop"] }] });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.issues.map((i) => `${i.path}: ${i.message}`),
      ["endpoints[0].addresses[0]: must be an IPv4 address"],
    );
  });
});
