// The API client over real sockets against a server speaking the documented wire format.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ApiClient, ApiError } from "../../src/client/index.ts";
import { type DatastoreError, ExpiredError, type WatchEvent } from "../../src/datastore/index.ts";
import { statusBody } from "../kube-status.ts";
import { selfSignedCert } from "../tls-cert.ts";
import { type Handler, json, startWireServer, status, type WireServer } from "./wire-server.ts";

const POD = { apiVersion: "v1", kind: "Pod" } as const;
const K8S_NETPOL = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" } as const;
const GNP = { apiVersion: "microseg.io/v1", kind: "GlobalNetworkPolicy" } as const;

function pod(name: string, rv: number, labels: Record<string, string> = {}) {
  return {
    ...POD,
    metadata: { name, namespace: "prod", labels, resourceVersion: String(rv) },
    spec: {},
  };
}

const servers: WireServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function serve(handler: Handler, tls?: { key: string; cert: string }) {
  const server = await startWireServer(handler, tls);
  servers.push(server);
  return { server, client: new ApiClient({ server: server.url, token: "s3cret" }) };
}

describe("ApiClient paths and verbs", () => {
  it("get reads the object at its Kubernetes path and validates it", async () => {
    const { server, client } = await serve((_req, res) => json(res, 200, pod("web-0", 7)));
    const got = await client.get({ kind: POD, namespace: "prod", name: "web-0" });
    assert.equal(got.metadata.name, "web-0");
    assert.equal(got.metadata.resourceVersion, "7");
    assert.equal(server.received[0]?.path, "/api/v1/namespaces/prod/pods/web-0");
    assert.equal(server.received[0]?.headers.authorization, "Bearer s3cret");
  });

  it("group kinds live under /apis/{group}/{version}; cluster-scoped ones have no namespace", async () => {
    const { server, client } = await serve((req, res) =>
      req.path.includes("globalnetworkpolicies")
        ? json(res, 200, { ...GNP, metadata: { name: "g", resourceVersion: "3" }, spec: {} })
        : json(res, 200, {
            ...K8S_NETPOL,
            metadata: { name: "deny", namespace: "prod", resourceVersion: "2" },
            spec: { podSelector: {} },
          }),
    );
    await client.get({ kind: K8S_NETPOL, namespace: "prod", name: "deny" });
    await client.get({ kind: GNP, name: "g" });
    assert.deepEqual(
      server.received.map((r) => r.path),
      [
        "/apis/networking.k8s.io/v1/namespaces/prod/networkpolicies/deny",
        "/apis/microseg.io/v1/globalnetworkpolicies/g",
      ],
    );
  });

  it("list passes the selector, reads the list's revision and fills in items' kind", async () => {
    const { server, client } = await serve((_req, res) =>
      json(res, 200, {
        apiVersion: "v1",
        kind: "PodList",
        metadata: { resourceVersion: "12" },
        items: [{ metadata: { name: "a", namespace: "prod", resourceVersion: "5" }, spec: {} }],
      }),
    );
    const one = await client.list({ kind: POD, namespace: "prod", labelSelector: "app=web" });
    const all = await client.list({ kind: POD });
    assert.equal(one.revision, 12);
    assert.equal(one.items[0]?.kind, "Pod");
    assert.equal(all.items.length, 1);
    assert.equal(server.received[0]?.path, "/api/v1/namespaces/prod/pods");
    assert.equal(server.received[0]?.query.get("labelSelector"), "app=web");
    assert.equal(server.received[1]?.path, "/api/v1/pods", "no namespace lists all of them");
  });

  it("create POSTs to the collection, replace PUTs the object, patch is a merge patch", async () => {
    const { server, client } = await serve((req, res) =>
      json(res, req.method === "POST" ? 201 : 200, pod("web-0", 9, { app: "web" })),
    );
    const object = pod("web-0", 8) as unknown as Parameters<ApiClient["create"]>[0];
    await client.create(object);
    await client.replace(object);
    const patched = await client.patch(
      { kind: POD, namespace: "prod", name: "web-0" },
      { metadata: { labels: { app: "web", old: null } } },
    );
    assert.deepEqual(patched.metadata.labels, { app: "web" });
    const [post, put, patch] = server.received;
    assert.equal(post?.method, "POST");
    assert.equal(post?.path, "/api/v1/namespaces/prod/pods");
    assert.equal(JSON.parse(post?.body ?? "").metadata.name, "web-0");
    assert.equal(put?.method, "PUT");
    assert.equal(put?.path, "/api/v1/namespaces/prod/pods/web-0");
    assert.equal(patch?.headers["content-type"], "application/merge-patch+json");
    assert.deepEqual(JSON.parse(patch?.body ?? ""), {
      metadata: { labels: { app: "web", old: null } },
    });
  });

  it("delete sends the resourceVersion precondition as DeleteOptions", async () => {
    const { server, client } = await serve((_req, res) => json(res, 200, pod("web-0", 10)));
    await client.delete({ kind: POD, namespace: "prod", name: "web-0" }, { resourceVersion: "9" });
    assert.equal(server.received[0]?.method, "DELETE");
    assert.deepEqual(JSON.parse(server.received[0]?.body ?? "").preconditions, {
      resourceVersion: "9",
    });
  });

  it("applySet posts one List and returns each object's action and the revision", async () => {
    const { server, client } = await serve((req, res) => {
      const items = JSON.parse(req.body).items as unknown[];
      json(res, 200, {
        revision: 21,
        results: items.map((object, i) => ({
          apiVersion: "v1",
          kind: "Pod",
          namespace: "prod",
          name: (object as { metadata: { name: string } }).metadata.name,
          action: i ? "created" : "unchanged",
        })),
      });
    });
    const set = [pod("a", 1), pod("b", 1)] as unknown as Parameters<ApiClient["applySet"]>[0];
    const result = await client.applySet(set);
    assert.equal(server.received[0]?.path, "/apis/microseg.io/v1/apply");
    assert.equal(JSON.parse(server.received[0]?.body ?? "").kind, "List");
    assert.equal(result.revision, 21);
    assert.deepEqual(
      result.results.map((r) => `${r.name} ${r.action}`),
      ["a unchanged", "b created"],
    );
  });
});

describe("ApiClient errors", () => {
  it("a 422 Status becomes Invalid with every cause's field path", async () => {
    const { client } = await serve((_req, res) =>
      status(res, 422, "Invalid", 'Pod "x" is invalid', [
        { field: "spec.containers[0].ports[0].containerPort", message: "must be 1-65535" },
        { field: "metadata.labels", message: "bad key" },
      ]),
    );
    const error = await client.get({ kind: POD, namespace: "p", name: "x" }).catch((e) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "Invalid");
    assert.equal(error.status, 422);
    assert.equal(error.message, 'Pod "x" is invalid');
    assert.deepEqual(
      error.issues.map((i) => i.path),
      ["spec.containers[0].ports[0].containerPort", "metadata.labels"],
    );
  });

  for (const [code, reason, expected] of [
    [404, "NotFound", "NotFound"],
    [409, "AlreadyExists", "AlreadyExists"],
    [409, "Conflict", "Conflict"],
    [401, "Unauthorized", "Invalid"],
    [413, "RequestEntityTooLarge", "Invalid"],
    [503, "ServiceUnavailable", "Unavailable"],
  ] as const) {
    it(`${code} ${reason} keeps its reason and maps to the store's ${expected}`, async () => {
      const { client } = await serve((_req, res) => status(res, code, reason, `said ${reason}`));
      const error = await client.get({ kind: POD, namespace: "p", name: "x" }).catch((e) => e);
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.code, expected);
      assert.equal(error.reason, reason);
      assert.equal(error.message, `said ${reason}`);
    });
  }

  it("a body that is no Status still yields the HTTP status' reason", async () => {
    const { client } = await serve((_req, res) => {
      res.writeHead(500);
      res.end("<html>proxy error</html>");
    });
    const error = await client.get({ kind: POD, namespace: "p", name: "x" }).catch((e) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.reason, "InternalError");
    assert.equal(error.code, "Unavailable");
  });

  it("an object failing its schema is refused, naming the field", async () => {
    const { client } = await serve((_req, res) =>
      json(res, 200, { ...POD, metadata: { name: "Not_A_Name", namespace: "p" } }),
    );
    const error = await client.get({ kind: POD, namespace: "p", name: "x" }).catch((e) => e);
    assert.ok(error instanceof ApiError);
    assert.match(error.message, /metadata\.name/);
  });

  it("a refused connection says so, as kubectl does", async () => {
    const { server } = await serve((_req, res) => json(res, 200, {}));
    const url = server.url;
    await server.close();
    const error = await new ApiClient({ server: url })
      .get({ kind: POD, namespace: "p", name: "x" })
      .catch((e) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "Unavailable");
    assert.match(error.message, /connection to the server 127\.0\.0\.1:\d+ was refused/);
  });
});

/** Collects a watch's events until `n` arrived or it ended with an error. */
function collect(client: ApiClient, fromRevision: number, n: number) {
  const events: WatchEvent[] = [];
  let stop: () => void = () => {};
  const done = new Promise<{ events: WatchEvent[]; error?: DatastoreError }>((resolve) => {
    const watch = client.watch(
      { kind: POD, namespace: "prod", fromRevision },
      {
        onEvent(event) {
          events.push(event);
          if (events.length === n) resolve({ events });
        },
        onError(error) {
          resolve({ events, error });
        },
      },
    );
    stop = () => watch.stop();
  });
  return done.finally(() => stop());
}

function line(res: ServerResponse, type: string, object: unknown) {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

describe("ApiClient watch", () => {
  it("delivers ADDED/MODIFIED/DELETED and resumes after a disconnect from the last revision", async () => {
    const { server, client } = await serve((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const from = Number(req.query.get("resourceVersion"));
      if (from === 4) {
        // First connection: two events and a bookmark, then the connection drops.
        line(res, "ADDED", pod("a", 5));
        line(res, "MODIFIED", pod("a", 6, { v: "2" }));
        line(res, "BOOKMARK", { ...POD, metadata: { resourceVersion: "8" } });
        res.end();
      } else {
        // A repeat of an old event is dropped; then the next one.
        line(res, "MODIFIED", pod("a", 6, { v: "2" }));
        line(res, "DELETED", pod("a", 9));
      }
    });
    const { events, error } = await collect(client, 4, 4);
    assert.equal(error, undefined);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.revision}`),
      ["ADDED 5", "MODIFIED 6", "BOOKMARK 8", "DELETED 9"],
    );
    const watches = server.received.filter((r) => r.query.get("watch") === "1");
    assert.deepEqual(
      watches.map((r) => [r.path, r.query.get("resourceVersion")]),
      [
        ["/api/v1/namespaces/prod/pods", "4"],
        ["/api/v1/namespaces/prod/pods", "8"],
      ],
      "the second connection resumes from the bookmark's revision",
    );
  });

  it("an ERROR event with a 410 Status ends the watch with ExpiredError", async () => {
    const { client } = await serve((_req, res) => {
      res.writeHead(200);
      line(res, "ERROR", statusBody(410, "Expired", "revision 2 is compacted (oldest kept: 30)"));
    });
    const { events, error } = await collect(client, 2, 1);
    assert.equal(events.length, 0);
    assert.ok(error instanceof ExpiredError, String(error));
    assert.equal(error.requested, 2);
    assert.equal(error.compacted, 29);
  });

  it("a 410 answer to the watch request is ExpiredError too", async () => {
    const { client } = await serve((_req, res) => status(res, 410, "Expired", "too old"));
    const { error } = await collect(client, 3, 1);
    assert.ok(error instanceof ExpiredError, String(error));
  });

  it("keeps retrying while the server answers 503, and resumes from where it was", async () => {
    let calls = 0;
    const { server, client } = await serve((_req, res) => {
      calls += 1;
      if (calls <= 2) return status(res, 503, "ServiceUnavailable", "starting");
      res.writeHead(200);
      line(res, "ADDED", pod("b", 11));
    });
    const { events, error } = await collect(client, 10, 1);
    assert.equal(error, undefined);
    assert.equal(events[0]?.revision, 11);
    assert.ok(server.received.every((r) => r.query.get("resourceVersion") === "10"));
  });

  it("a 403 ends the watch with that error instead of retrying", async () => {
    const { server, client } = await serve((_req, res) => status(res, 403, "Forbidden", "no"));
    const { error } = await collect(client, 0, 1);
    assert.ok(error instanceof ApiError);
    assert.equal(error.reason, "Forbidden");
    assert.equal(server.received.length, 1);
  });

  it("a line that is not an event ends the watch rather than skipping it", async () => {
    const { client } = await serve((_req, res) => {
      res.writeHead(200);
      res.write("{not json\n");
    });
    const { error } = await collect(client, 0, 1);
    assert.ok(error instanceof ApiError);
    assert.match(error.message, /not JSON/);
  });
});

describe("ApiClient over TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "microseg-client-tls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("trusts the server's certificate through the ca option, and refuses it without", async () => {
    const { key, cert } = selfSignedCert(dir);
    const tls = { key, cert };
    const { server } = await serve((_req, res) => json(res, 200, pod("web-0", 1)), tls);
    const trusted = new ApiClient({ server: server.url, ca: tls.cert });
    const got = await trusted.get({ kind: POD, namespace: "prod", name: "web-0" });
    assert.equal(got.metadata.name, "web-0");
    const untrusted = new ApiClient({ server: server.url });
    const error = await untrusted
      .get({ kind: POD, namespace: "prod", name: "web-0" })
      .catch((e) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "Unavailable");
    assert.match(error.message, /certificate/);
  });
});
