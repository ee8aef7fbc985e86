// The HTTP API over a real SQLite store: every verb on Kubernetes-shaped paths, lists with
// selectors, tables, discovery, the Calico alias group, merge patch, preconditions.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KINDS } from "../../src/model/index.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const ns = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
const pod = (namespace: string, name: string, labels: Record<string, string>, ip: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, labels },
  spec: { nodeName: "node-1", containers: [{ name: "main", ports: [{ containerPort: 8080 }] }] },
  status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
});

describe("objects", () => {
  it("create answers 201 with the stored object (resourceVersion, uid, creationTimestamp)", async () => {
    assert.equal((await h.request("POST", "/api/v1/namespaces", { body: ns("shop") })).status, 201);
    const r = await h.request("POST", "/api/v1/namespaces/shop/pods", {
      body: pod("shop", "web-0", { app: "web" }, "198.18.0.10"),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.metadata.name, "web-0");
    assert.equal(r.json.metadata.namespace, "shop");
    assert.match(r.json.metadata.resourceVersion, /^\d+$/);
    assert.ok(r.json.metadata.uid, "uid set");
    assert.ok(r.json.metadata.creationTimestamp, "creationTimestamp set");
    const got = await h.request("GET", "/api/v1/namespaces/shop/pods/web-0");
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, r.json);
  });

  it("a body without a namespace takes the path's", async () => {
    const body = pod("shop", "web-1", { app: "web" }, "198.18.0.11");
    delete (body.metadata as { namespace?: string }).namespace;
    const r = await h.request("POST", "/api/v1/namespaces/shop/pods", { body });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.metadata.namespace, "shop");
  });

  it("create of an existing object is 409 AlreadyExists", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/shop/pods", {
      body: pod("shop", "web-0", { app: "web" }, "198.18.0.10"),
    });
    assert.equal(r.status, 409);
    assert.equal(r.json.kind, "Status");
    assert.equal(r.json.reason, "AlreadyExists");
    assert.equal(r.json.code, 409);
  });

  it("get of a missing object is a 404 NotFound Status naming it", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/shop/pods/nope");
    assert.equal(r.status, 404);
    assert.equal(r.json.reason, "NotFound");
    assert.equal(r.json.details.name, "nope");
    assert.equal(r.json.details.kind, "Pod");
  });

  it("replace with the current resourceVersion succeeds, with a stale one is 409 Conflict", async () => {
    const current = (await h.request("GET", "/api/v1/namespaces/shop/pods/web-0")).json;
    const changed = {
      ...current,
      metadata: { ...current.metadata, labels: { app: "web", v: "2" } },
    };
    const ok = await h.request("PUT", "/api/v1/namespaces/shop/pods/web-0", { body: changed });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.metadata.labels.v, "2");
    assert.ok(
      Number(ok.json.metadata.resourceVersion) > Number(current.metadata.resourceVersion),
      "resourceVersion moves forward",
    );
    const stale = await h.request("PUT", "/api/v1/namespaces/shop/pods/web-0", { body: changed });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, "Conflict");
  });

  it("concurrent replaces from one resourceVersion: exactly one succeeds, the rest are 409", async () => {
    const current = (await h.request("GET", "/api/v1/namespaces/shop/pods/web-0")).json;
    const writers = Array.from({ length: 8 }, (_, i) =>
      h.request("PUT", "/api/v1/namespaces/shop/pods/web-0", {
        body: {
          ...current,
          metadata: { ...current.metadata, labels: { app: "web", writer: String(i) } },
        },
      }),
    );
    const statuses = (await Promise.all(writers)).map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
  });

  it("replace whose body names another object is 400 naming metadata.name", async () => {
    const body = pod("shop", "other", {}, "198.18.0.12");
    const r = await h.request("PUT", "/api/v1/namespaces/shop/pods/web-0", { body });
    assert.equal(r.status, 400);
    assert.equal(r.json.details.causes[0].field, "metadata.name");
  });

  it("merge patch (and strategic merge patch, as kubectl label sends) changes labels", async () => {
    for (const type of ["application/merge-patch+json", "application/strategic-merge-patch+json"]) {
      const value = type.startsWith("application/merge") ? "merge" : "strategic";
      const r = await h.request("PATCH", "/api/v1/namespaces/shop/pods/web-0", {
        raw: JSON.stringify({ metadata: { labels: { patched: value, v: null } } }),
        headers: { "content-type": type },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.metadata.labels.patched, value);
      assert.equal(r.json.metadata.labels.v, undefined, "null removes a key");
      assert.equal(r.json.metadata.labels.app, "web", "untouched keys stay");
    }
  });

  it("a patch pinned to a stale resourceVersion is 409", async () => {
    const r = await h.request("PATCH", "/api/v1/namespaces/shop/pods/web-0", {
      raw: JSON.stringify({ metadata: { resourceVersion: "1", labels: { x: "y" } } }),
      headers: { "content-type": "application/merge-patch+json" },
    });
    assert.equal(r.status, 409);
  });

  it("a patch making the object invalid is 422 naming the field, and changes nothing", async () => {
    const before = (await h.request("GET", "/api/v1/namespaces/shop/pods/web-0")).json;
    const r = await h.request("PATCH", "/api/v1/namespaces/shop/pods/web-0", {
      raw: JSON.stringify({ status: { podIP: "not-an-ip" } }),
      headers: { "content-type": "application/merge-patch+json" },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.details.causes[0].field, "status.podIP");
    const after = (await h.request("GET", "/api/v1/namespaces/shop/pods/web-0")).json;
    assert.deepEqual(after, before);
  });

  it("a JSON patch (RFC 6902) is 415: only merge patches are taken", async () => {
    const r = await h.request("PATCH", "/api/v1/namespaces/shop/pods/web-0", {
      raw: "[]",
      headers: { "content-type": "application/json-patch+json" },
    });
    assert.equal(r.status, 415);
    assert.equal(r.json.reason, "UnsupportedMediaType");
  });

  it("delete with a stale precondition is 409; with the current one it deletes", async () => {
    const current = (await h.request("GET", "/api/v1/namespaces/shop/pods/web-1")).json;
    const stale = await h.request("DELETE", "/api/v1/namespaces/shop/pods/web-1", {
      body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { resourceVersion: "1" } },
    });
    assert.equal(stale.status, 409);
    const wrongUid = await h.request("DELETE", "/api/v1/namespaces/shop/pods/web-1", {
      body: { preconditions: { uid: "not-the-uid" } },
    });
    assert.equal(wrongUid.status, 409);
    const ok = await h.request("DELETE", "/api/v1/namespaces/shop/pods/web-1", {
      body: {
        preconditions: {
          resourceVersion: current.metadata.resourceVersion,
          uid: current.metadata.uid,
        },
      },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.metadata.name, "web-1");
    assert.equal((await h.request("GET", "/api/v1/namespaces/shop/pods/web-1")).status, 404);
  });

  it("delete without a body deletes unconditionally", async () => {
    await h.request("POST", "/api/v1/namespaces/shop/pods", {
      body: pod("shop", "tmp", {}, "198.18.0.13"),
    });
    const r = await h.request("DELETE", "/api/v1/namespaces/shop/pods/tmp");
    assert.equal(r.status, 200, r.text);
  });
});

describe("lists", () => {
  before(async () => {
    await h.request("POST", "/api/v1/namespaces", { body: ns("lab") });
    for (const [name, labels] of [
      ["db-0", { app: "db", tier: "back" }],
      ["db-1", { app: "db", tier: "back", legacy: "true" }],
      ["api-0", { app: "api", tier: "front" }],
    ] as const) {
      const r = await h.request("POST", "/api/v1/namespaces/lab/pods", {
        body: pod("lab", name, labels, `198.18.1.${name.length}`),
      });
      assert.equal(r.status, 201, r.text);
    }
  });

  it("a namespace's list is a PodList with the store revision", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/lab/pods");
    assert.equal(r.status, 200);
    assert.equal(r.json.kind, "PodList");
    assert.equal(r.json.apiVersion, "v1");
    assert.equal(r.json.metadata.resourceVersion, String(await h.store.revision()));
    assert.deepEqual(
      r.json.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      ["api-0", "db-0", "db-1"],
    );
  });

  it("/api/v1/pods lists every namespace", async () => {
    const r = await h.request("GET", "/api/v1/pods");
    const where = r.json.items.map(
      (p: { metadata: { namespace: string } }) => p.metadata.namespace,
    );
    assert.ok(where.includes("lab") && where.includes("shop"), where.join(","));
  });

  const names = async (query: string) =>
    (await h.request("GET", `/api/v1/namespaces/lab/pods?${query}`)).json.items.map(
      (p: { metadata: { name: string } }) => p.metadata.name,
    );

  it("labelSelector: =, !=, in, notin, exists, !exists", async () => {
    assert.deepEqual(await names("labelSelector=app%3Ddb"), ["db-0", "db-1"]);
    assert.deepEqual(await names("labelSelector=app!%3Ddb"), ["api-0"]);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent("tier in (front,x)")}`), [
      "api-0",
    ]);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent("tier notin (front)")}`), [
      "db-0",
      "db-1",
    ]);
    assert.deepEqual(await names("labelSelector=legacy"), ["db-1"]);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent("!legacy,app=db")}`), [
      "db-0",
    ]);
  });

  it("fieldSelector on metadata.name", async () => {
    assert.deepEqual(await names("fieldSelector=metadata.name%3Ddb-1"), ["db-1"]);
    assert.deepEqual(await names("fieldSelector=metadata.name!%3Ddb-1"), ["api-0", "db-0"]);
  });

  it("limit is accepted and everything comes back without a continue token", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/lab/pods?limit=1");
    assert.equal(r.json.items.length, 3);
    assert.equal(r.json.metadata.continue, undefined);
  });

  it("Accept as=Table gives kubectl's columns", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/lab/pods", {
      headers: {
        accept:
          "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
      },
    });
    assert.equal(r.json.kind, "Table");
    assert.equal(r.json.apiVersion, "meta.k8s.io/v1");
    assert.deepEqual(
      r.json.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node"],
    );
    const row = r.json.rows.find((x: { cells: string[] }) => x.cells[0] === "db-0");
    assert.deepEqual(row.cells.slice(0, 4), ["db-0", "0/1", "Running", 0]);
    assert.equal(row.cells[6], "node-1");
    assert.equal(row.object.metadata.namespace, "lab");
  });

  it("an Accept header naming only protobuf is 406", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/lab/pods", {
      headers: { accept: "application/vnd.kubernetes.protobuf" },
    });
    assert.equal(r.status, 406);
  });
});

describe("Calico and microseg kinds", () => {
  const tier = {
    apiVersion: "microseg.io/v1",
    kind: "Tier",
    metadata: { name: "security" },
    spec: { order: 100 },
  };
  const gnp = {
    apiVersion: "projectcalico.org/v3",
    kind: "GlobalNetworkPolicy",
    metadata: { name: "security.deny-legacy" },
    spec: {
      tier: "security",
      order: 10,
      selector: "legacy == 'true'",
      types: ["Ingress"],
      ingress: [{ action: "Deny" }],
    },
  };

  it("projectcalico.org/v3 is an alias: written there, read under both names", async () => {
    assert.equal(
      (await h.request("POST", "/apis/microseg.io/v1/tiers", { body: tier })).status,
      201,
    );
    const created = await h.request("POST", "/apis/projectcalico.org/v3/globalnetworkpolicies", {
      body: gnp,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.apiVersion, "projectcalico.org/v3");
    const ours = await h.request(
      "GET",
      "/apis/microseg.io/v1/globalnetworkpolicies/security.deny-legacy",
    );
    assert.equal(ours.json.apiVersion, "microseg.io/v1");
    assert.equal(ours.json.spec.selector, gnp.spec.selector);
    const theirs = await h.request("GET", "/apis/projectcalico.org/v3/globalnetworkpolicies");
    assert.equal(theirs.json.kind, "GlobalNetworkPolicyList");
    assert.equal(theirs.json.items[0].apiVersion, "projectcalico.org/v3");
  });

  it("a body of one kind posted to another kind's path is 400 naming kind", async () => {
    const r = await h.request("POST", "/apis/microseg.io/v1/globalnetworkpolicies", { body: tier });
    assert.equal(r.status, 400);
    assert.equal(r.json.details.causes[0].field, "kind");
  });

  it("networking.k8s.io NetworkPolicy and microseg.io NetworkPolicy are different kinds", async () => {
    const k8s = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "web", namespace: "shop" },
      spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"] },
    };
    const r = await h.request(
      "POST",
      "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies",
      { body: k8s },
    );
    assert.equal(r.status, 201, r.text);
    const ours = await h.request("GET", "/apis/microseg.io/v1/namespaces/shop/networkpolicies/web");
    assert.equal(ours.status, 404);
    const table = await h.request(
      "GET",
      "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies",
      {
        headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
      },
    );
    assert.deepEqual(table.json.rows[0].cells.slice(0, 2), ["web", "app=web"]);
  });

  it("a tier still holding policies cannot be deleted (409), the built-in ones never", async () => {
    const r = await h.request("DELETE", "/apis/microseg.io/v1/tiers/security");
    assert.equal(r.status, 409, r.text);
    const builtin = await h.request("DELETE", "/apis/microseg.io/v1/tiers/default");
    assert.ok(builtin.status === 409 || builtin.status === 422, builtin.text);
    assert.equal((await h.request("GET", "/apis/microseg.io/v1/tiers/default")).status, 200);
  });
});

describe("discovery", () => {
  it("/api lists v1, /apis every group with projectcalico.org after microseg.io", async () => {
    assert.deepEqual((await h.request("GET", "/api")).json.versions, ["v1"]);
    const groups = (await h.request("GET", "/apis")).json.groups.map(
      (g: { name: string }) => g.name,
    );
    assert.deepEqual(groups, [
      "apps",
      "batch",
      "discovery.k8s.io",
      "networking.k8s.io",
      "policy.networking.k8s.io",
      "microseg.io",
      "projectcalico.org",
    ]);
  });

  it("every registry kind is in its group version's APIResourceList with short names", async () => {
    for (const k of KINDS) {
      const path = k.group === "" ? "/api/v1" : `/apis/${k.apiVersion}`;
      const list = (await h.request("GET", path)).json;
      const entry = list.resources.find((r: { kind: string }) => r.kind === k.kind);
      assert.ok(entry, `${k.kind} missing from ${path}`);
      assert.equal(entry.name, k.plural);
      assert.equal(entry.namespaced, k.namespaced);
      assert.deepEqual(entry.shortNames ?? [], [...k.shortNames]);
      assert.ok(entry.verbs.includes("watch"), `${k.kind} verbs`);
    }
  });

  it("unknown groups, versions and plurals are 404 Status", async () => {
    for (const path of [
      "/apis/nope.io/v1/things",
      "/apis/microseg.io/v9/tiers",
      "/api/v1/gizmos",
      "/api/v2/pods",
    ]) {
      const r = await h.request("GET", path);
      assert.equal(r.status, 404, path);
      assert.equal(r.json.kind, "Status", path);
    }
  });

  it("/openapi/v2 answers protobuf to kubectl and JSON otherwise", async () => {
    const pb = await h.request("GET", "/openapi/v2", {
      headers: { accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" },
    });
    assert.equal(pb.status, 200);
    assert.match(pb.headers.get("content-type") ?? "", /protobuf/);
    assert.equal((await h.request("GET", "/openapi/v2")).json.swagger, "2.0");
  });
});

describe("health and metrics", () => {
  it("/healthz and /readyz say ok", async () => {
    assert.equal((await h.request("GET", "/healthz")).text, "ok");
    assert.equal((await h.request("GET", "/readyz")).text, "ok");
  });

  it("/metrics has request latency, the store revision, watchers and agent status", async () => {
    const status = {
      node: "node-1",
      revision: 3,
      ready: true,
      resources: 4,
      endpoints: 2,
      policies: 1,
      sets: 1,
      fullSyncs: 1,
    };
    assert.equal(
      (await h.request("PUT", "/api/v1/agents/node-1/status", { body: status })).status,
      200,
    );
    const text = (await h.request("GET", "/metrics")).text;
    const revision = await h.store.revision();
    assert.match(text, new RegExp(`^microseg_store_revision ${revision}$`, "m"));
    assert.match(
      text,
      /^microseg_api_request_duration_seconds_count\{verb="create",resource="pods",code="201"\} \d+$/m,
    );
    assert.match(text, /^microseg_api_watchers 0$/m);
    assert.match(text, /^microseg_agent_ready\{node="node-1"\} 1$/m);
    assert.match(text, /^microseg_agent_revision\{node="node-1"\} 3$/m);
  });
});

describe("agents", () => {
  it("PUT status then GET lists it; a body for another node is 400; a bad one 422", async () => {
    const status = {
      node: "node-2",
      revision: 9,
      ready: false,
      resources: 1,
      endpoints: 0,
      policies: 0,
      sets: 0,
      fullSyncs: 0,
      lastError: "boom",
    };
    assert.equal(
      (await h.request("PUT", "/api/v1/agents/node-2/status", { body: status })).status,
      200,
    );
    const list = (await h.request("GET", "/api/v1/agents")).json.items;
    const got = list.find((a: { node: string }) => a.node === "node-2");
    assert.equal(got.lastError, "boom");
    assert.ok(got.reportedAt, "reportedAt set");
    const wrong = await h.request("PUT", "/api/v1/agents/node-3/status", { body: status });
    assert.equal(wrong.status, 400);
    const bad = await h.request("PUT", "/api/v1/agents/node-2/status", {
      body: { ...status, revision: "x" },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.details.causes[0].field, "revision");
  });
});
