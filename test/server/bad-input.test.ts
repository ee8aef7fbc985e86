// The bar for bad input: a table of malformed requests, each answered with its 4xx Status
// naming the field at fault, and the store's revision unchanged after every one of them.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
const base = { objectBytes: 64 * 1024, applyBytes: 256 * 1024 };
before(async () => {
  h = await startHarness({ limits: base });
  const setup = [
    ["/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }],
    [
      "/api/v1/namespaces/shop/pods",
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web", namespace: "shop" },
        spec: { containers: [] },
      },
    ],
  ] as const;
  for (const [path, body] of setup)
    assert.equal((await h.request("POST", path, { body })).status, 201);
});
after(() => h.close());

const gnp = (spec: Record<string, unknown>, name = "g") => ({
  apiVersion: "microseg.io/v1",
  kind: "GlobalNetworkPolicy",
  metadata: { name },
  spec,
});
const pod = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "shop", ...metadata },
  spec,
});
const netpol = (spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "n", namespace: "shop" },
  spec: { podSelector: {}, ...spec },
});

const GNPS = "/apis/microseg.io/v1/globalnetworkpolicies";
const PODS = "/api/v1/namespaces/shop/pods";
const NETPOLS = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies";
const APPLY = "/apis/microseg.io/v1/apply";

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly raw?: string;
  readonly contentType?: string;
  readonly status: number;
  readonly reason: string;
  /** The field the Status must name in details.causes (absent: the message must name it). */
  readonly field: string;
}

const CASES: Case[] = [
  {
    name: "wrong type: containers is a string",
    method: "POST",
    path: PODS,
    body: pod({ containers: "x" }),
    status: 422,
    reason: "Invalid",
    field: "spec.containers",
  },
  {
    name: "unknown field in a Calico policy",
    method: "POST",
    path: GNPS,
    body: gnp({ bogus: 1 }),
    status: 422,
    reason: "Invalid",
    field: "spec.bogus",
  },
  {
    name: "bad Calico selector",
    method: "POST",
    path: GNPS,
    body: gnp({ selector: "app ==" }),
    status: 422,
    reason: "Invalid",
    field: "spec.selector",
  },
  {
    name: "bad Kubernetes label selector operator",
    method: "POST",
    path: NETPOLS,
    body: netpol({ podSelector: { matchExpressions: [{ key: "a", operator: "Maybe" }] } }),
    status: 422,
    reason: "Invalid",
    field: "spec.podSelector.matchExpressions[0].operator",
  },
  {
    name: "bad labelSelector query",
    method: "GET",
    path: `${PODS}?labelSelector=${encodeURIComponent("a in (")}`,
    status: 400,
    reason: "BadRequest",
    field: "labelSelector",
  },
  {
    name: "bad fieldSelector query",
    method: "GET",
    path: `${PODS}?fieldSelector=spec.nodeName%3Dx`,
    status: 400,
    reason: "BadRequest",
    field: "fieldSelector",
  },
  {
    name: "bad CIDR in a network set",
    method: "POST",
    path: "/apis/microseg.io/v1/globalnetworksets",
    body: {
      apiVersion: "microseg.io/v1",
      kind: "GlobalNetworkSet",
      metadata: { name: "s" },
      spec: { nets: ["10.0.0.0/33"] },
    },
    status: 422,
    reason: "Invalid",
    field: "spec.nets[0]",
  },
  {
    name: "bad ipBlock CIDR",
    method: "POST",
    path: NETPOLS,
    body: netpol({ ingress: [{ from: [{ ipBlock: { cidr: "300.0.0.0/8" } }] }] }),
    status: 422,
    reason: "Invalid",
    field: "spec.ingress[0].from[0].ipBlock.cidr",
  },
  {
    name: "port 0 in a pod",
    method: "POST",
    path: PODS,
    body: pod({ containers: [{ name: "m", ports: [{ containerPort: 0 }] }] }),
    status: 422,
    reason: "Invalid",
    field: "spec.containers[0].ports[0].containerPort",
  },
  {
    name: "port 0 in a NetworkPolicy",
    method: "POST",
    path: NETPOLS,
    body: netpol({ ingress: [{ ports: [{ port: 0 }] }] }),
    status: 422,
    reason: "Invalid",
    field: "spec.ingress[0].ports[0].port",
  },
  {
    name: "port 70000 in a Calico rule",
    method: "POST",
    path: GNPS,
    body: gnp({ ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [70000] } }] }),
    status: 422,
    reason: "Invalid",
    field: "spec.ingress[0].destination.ports[0]",
  },
  {
    name: "unknown kind's path",
    method: "POST",
    path: "/apis/microseg.io/v1/gizmos",
    body: { apiVersion: "microseg.io/v1", kind: "Gizmo", metadata: { name: "x" } },
    status: 404,
    reason: "NotFound",
    field: "gizmos",
  },
  {
    name: "unknown kind in an apply set",
    method: "POST",
    path: APPLY,
    body: {
      apiVersion: "v1",
      kind: "List",
      items: [{ apiVersion: "microseg.io/v1", kind: "Gizmo", metadata: { name: "x" } }],
    },
    status: 422,
    reason: "Invalid",
    field: "items[0].kind",
  },
  {
    name: "a policy in a missing tier",
    method: "POST",
    path: GNPS,
    body: gnp({ tier: "nope", selector: "all()" }, "nope.g"),
    status: 422,
    reason: "Invalid",
    field: "spec.tier",
  },
  {
    name: "a whole set with one policy in a missing tier",
    method: "POST",
    path: APPLY,
    body: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "fresh" } },
      gnp({ tier: "nope", selector: "all()" }, "nope.g"),
    ],
    status: 422,
    reason: "Invalid",
    field: "items[1].spec.tier",
  },
  {
    name: "a whole set with one bad object among good ones",
    method: "POST",
    path: APPLY,
    body: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "fresh" } },
      gnp({ selector: "all()" }, "fine"),
      pod({ containers: [{ name: "m", ports: [{ containerPort: 70000 }] }] }),
    ],
    status: 422,
    reason: "Invalid",
    field: "items[2].spec.containers[0].ports[0].containerPort",
  },
  {
    name: "a stale resourceVersion on replace",
    method: "PUT",
    path: `${PODS}/web`,
    body: pod({ containers: [] }, { name: "web", resourceVersion: "1" }),
    status: 409,
    reason: "Conflict",
    field: "metadata.resourceVersion",
  },
  {
    name: "a stale resourceVersion on delete",
    method: "DELETE",
    path: `${PODS}/web`,
    body: { preconditions: { resourceVersion: "1" } },
    status: 409,
    reason: "Conflict",
    field: "preconditions.resourceVersion",
  },
  {
    name: "truncated JSON",
    method: "POST",
    path: GNPS,
    raw: JSON.stringify(gnp({ selector: "all()" })).slice(0, 40),
    status: 400,
    reason: "BadRequest",
    field: "body",
  },
  {
    name: "a body that is not JSON at all",
    method: "POST",
    path: GNPS,
    raw: "kind: GlobalNetworkPolicy\n",
    status: 400,
    reason: "BadRequest",
    field: "body",
  },
  {
    name: "a JSON array where an object belongs",
    method: "POST",
    path: GNPS,
    raw: "[]",
    status: 400,
    reason: "BadRequest",
    field: "body",
  },
  {
    name: "a namespace that contradicts the path",
    method: "POST",
    path: PODS,
    body: pod({ containers: [] }, { namespace: "other" }),
    status: 400,
    reason: "BadRequest",
    field: "metadata.namespace",
  },
  {
    name: "a non-JSON media type",
    method: "POST",
    path: GNPS,
    raw: "{}",
    contentType: "text/plain",
    status: 415,
    reason: "UnsupportedMediaType",
    field: "Content-Type",
  },
  {
    name: "a watch from a resourceVersion that is not a number",
    method: "GET",
    path: `${PODS}?watch=1&resourceVersion=abc`,
    status: 400,
    reason: "BadRequest",
    field: "resourceVersion",
  },
  {
    name: "explain with port 70000",
    method: "GET",
    path: "/api/v1/explain?from=shop/web&to=shop/web&port=70000",
    status: 400,
    reason: "BadRequest",
    field: "port",
  },
  {
    name: "explain from a workload that does not exist",
    method: "POST",
    path: "/api/v1/explain",
    body: { from: "shop/nope", to: "shop/web", port: 80 },
    status: 400,
    reason: "BadRequest",
    field: "from",
  },
];

function named(
  json: { details?: { causes?: { field: string }[] }; message: string },
  field: string,
) {
  const causes = json.details?.causes ?? [];
  return causes.length > 0 ? causes.some((c) => c.field === field) : json.message.includes(field);
}

describe("malformed requests", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.status} ${c.reason} naming ${c.field}, store unchanged`, async () => {
      const before = await h.store.revision();
      const r = await h.request(c.method, c.path, {
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(c.raw !== undefined ? { raw: c.raw } : {}),
        headers: { "content-type": c.contentType ?? "application/json" },
      });
      assert.equal(r.status, c.status, r.text);
      assert.equal(r.json.kind, "Status", r.text);
      assert.equal(r.json.reason, c.reason, r.text);
      assert.equal(r.json.code, c.status);
      assert.ok(named(r.json, c.field), `Status does not name ${c.field}: ${r.text}`);
      assert.equal(await h.store.revision(), before, "the store changed");
    });
  }

  // A 20 MB body against the 64 KiB object limit and the 256 KiB apply limit. The client sends
  // the headers (Content-Length: 20 MiB) and waits: the server must answer before reading a byte
  // of the body. (Sending body bytes the server never reads would make its close a TCP reset,
  // which can discard the answer on the client's side before it is read: a flaky test.)
  for (const path of [GNPS, APPLY]) {
    it(`a 20 MB body to ${path}: 413 before any of it is read, store unchanged`, async () => {
      const before = await h.store.revision();
      const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${h.url}${path}`, {
          method: "POST",
          agent: false,
          timeout: 30_000,
          headers: { "content-type": "application/json", "content-length": 20 * 1024 * 1024 },
        });
        req.on("response", (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body });
          });
        });
        req.on("error", reject);
        req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
        req.flushHeaders();
      });
      assert.equal(r.status, 413, r.body);
      const status = JSON.parse(r.body);
      assert.equal(status.reason, "RequestEntityTooLarge");
      assert.equal(status.details.causes[0].field, "body");
      assert.equal(await h.store.revision(), before);
    });
  }

  it("the apply limit is larger than the object limit: a 100 KiB set is taken", async () => {
    const items = Array.from({ length: 600 }, (_, i) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: `ns-${i}`, labels: { pad: "x".repeat(63) } },
    }));
    const raw = JSON.stringify({ kind: "List", items });
    // assert.ok always with a message: without one, node 20 reads the call site's source to
    // make one, which can hang on tsx-transformed files.
    assert.ok(raw.length > base.objectBytes && raw.length < base.applyBytes, `size ${raw.length}`);
    const r = await h.request("POST", APPLY, {
      raw,
      headers: { "content-type": "application/json" },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results.length, 600);
  });
});
