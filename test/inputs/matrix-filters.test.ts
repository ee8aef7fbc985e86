// matrix filters and the per-namespace summary.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatSummary,
  MatrixFilterError,
  namespaceSummary,
  reachabilityMatrix,
} from "../../src/analysis/matrix.ts";
import { worldOf } from "./world.ts";

const cluster = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 198.18.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
status: {podIP: 198.18.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: ops, labels: {app: probe}}
status: {podIP: 198.18.0.3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}]}]
`;

describe("matrix filters", () => {
  it("-n keeps one namespace's workloads", () => {
    const w = worldOf(cluster);
    const m = reachabilityMatrix(w.cluster, w.evaluator, undefined, { namespace: "shop" });
    assert.deepEqual(m.workloads, ["shop/db", "shop/web"]);
    assert.equal(m.results.length, 4);
  });

  it("--from and --to select rows and columns", () => {
    const w = worldOf(cluster);
    const m = reachabilityMatrix(w.cluster, w.evaluator, undefined, {
      from: "app == 'probe'",
      to: "app in {'web', 'db'}",
    });
    assert.deepEqual(
      m.results.map((c) => `${c.from}->${c.to} ${c.allowed}`),
      ["ops/probe->shop/db true", "ops/probe->shop/web false"],
    );
  });

  it("a bad selector names its flag", () => {
    const w = worldOf(cluster);
    assert.throws(
      () => reachabilityMatrix(w.cluster, w.evaluator, undefined, { from: "app ==" }),
      (e: unknown) => e instanceof MatrixFilterError && /^--from: /.test(e.message),
    );
  });
});

describe("matrix summary", () => {
  it("counts allowed and denied per namespace pair and port", () => {
    const w = worldOf(cluster);
    const rows = namespaceSummary(w.cluster, w.evaluator);
    assert.deepEqual(
      rows.map((r) => `${r.from}->${r.to} ${r.port}/${r.protocol} ${r.allowed}/${r.denied}`),
      [
        "ops->ops 80/TCP 1/0",
        "ops->shop 80/TCP 1/1",
        "shop->ops 80/TCP 2/0",
        "shop->shop 80/TCP 4/0",
      ],
    );
    assert.match(
      formatSummary(rows),
      /^FROM\s+TO\s+PORT\s+ALLOWED\s+DENIED\nops\s+ops\s+80\/TCP\s+1\s+0\n/,
    );
  });
});
