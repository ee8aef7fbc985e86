// The examples are the reference scenario; their matrices are the product's promise.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { explainFlow } from "../src/analysis/explain.ts";
import { reachabilityMatrix } from "../src/analysis/matrix.ts";
import { loadManifests } from "../src/model/index.ts";
import { buildWorld } from "../src/policy/world.ts";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "examples");

async function world(folder: string) {
  const loaded = await loadManifests([join(EXAMPLES, folder)]);
  assert.ok(loaded.ok, loaded.ok ? "" : JSON.stringify(loaded.errors));
  return buildWorld(loaded.resources);
}

interface Workload {
  app: string;
  component: string;
  regionCheck: boolean;
}

/** The scenario's requirements, written independently of the policies. */
function mayReach(a: Workload, b: Workload): boolean {
  if (a.app === b.app) return true;
  if (a.component === "creditCheck" && b.component === "creditStatus") return true;
  if (a.component === "geoConfirm" && b.component === "ipMap") return true;
  return a.component === "creditCheck" && a.regionCheck && b.component === "regionService";
}

describe("examples/segmented-apps", () => {
  it("components talk inside their application plus exactly the three allowed paths", async () => {
    const w = await world("segmented-apps");
    const matrix = reachabilityMatrix(w.cluster, w.evaluator, [{ port: 8080, protocol: "TCP" }]);
    const labels = new Map(
      w.cluster.workloads().map((e) => [
        e.id,
        {
          app: e.labels.app!,
          component: e.labels.component!,
          regionCheck: e.labels["region-check"] === "true",
        },
      ]),
    );
    assert.equal(matrix.workloads.length, 18);
    const wrong = matrix.results
      .filter((c) => c.allowed !== mayReach(labels.get(c.from)!, labels.get(c.to)!))
      .map(
        (c) =>
          `${c.from} -> ${c.to} 8080/TCP: expected ${c.allowed ? "deny" : "allow"}, got ${c.allowed ? "allow" : "deny"}`,
      );
    assert.deepEqual(wrong, []);
    // Cross-application paths exist in the matrix at all (the scenario is not trivially siloed).
    assert.ok(
      matrix.results.some((c) => c.allowed && labels.get(c.from)!.app !== labels.get(c.to)!.app),
    );
  });

  it("only the region-check creditCheck replica reaches regionService", async () => {
    const w = await world("segmented-apps");
    const allowed = (from: string) =>
      explainFlow(w, { from, to: "geo-location/regionservice-0", port: 8080, protocol: "TCP" })
        .allowed;
    assert.equal(allowed("order-input/creditcheck-0"), true);
    assert.equal(allowed("order-input/creditcheck-1"), false);
  });
});

describe("examples/blue-ldap", () => {
  it("only blue LDAP clients open LDAP to blue LDAP servers; other blue pods are logged and denied", async () => {
    const w = await world("blue-ldap");
    for (const port of [389, 636]) {
      for (const client of ["ldap-client-0", "ldap-client-1"]) {
        const e = explainFlow(w, {
          from: `directory/${client}`,
          to: "directory/ldap-server-0",
          port,
          protocol: "TCP",
        });
        assert.equal(e.allowed, true, `${client} -> ldap-server-0 ${port}/TCP: expected allow`);
        assert.deepEqual(e.ingress.logged, []);
      }
      for (const other of ["blue-web-0", "blue-batch-0"]) {
        const e = explainFlow(w, {
          from: `directory/${other}`,
          to: "directory/ldap-server-1",
          port,
          protocol: "TCP",
        });
        assert.equal(e.allowed, false, `${other} -> ldap-server-1 ${port}/TCP: expected deny`);
        assert.equal(e.ingress.decision.kind, "rule");
        assert.equal(e.ingress.logged.length, 1, "the deny is logged for alerting");
      }
    }
  });

  it("the security tier passes everything that is not LDAP", async () => {
    const w = await world("blue-ldap");
    const e = explainFlow(w, {
      from: "directory/blue-web-0",
      to: "directory/ldap-server-0",
      port: 8080,
      protocol: "TCP",
    });
    assert.equal(e.allowed, true);
    assert.deepEqual(e.ingress.passed, ["security"]);
  });
});
