// Explain and matrix over the live store equal the offline answers for the same manifests,
// and follow the store when it changes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { explainFlow } from "../../src/analysis/explain.ts";
import { parsePortList, reachabilityMatrix } from "../../src/analysis/matrix.ts";
import { loadManifests, type Resource } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/index.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
let resources: Resource[];
before(async () => {
  h = await startHarness();
  const loaded = await loadManifests(["examples/blue-ldap"]);
  assert.ok(loaded.ok, "examples load");
  resources = loaded.resources;
  const r = await h.request("POST", "/apis/microseg.io/v1/apply", {
    body: { kind: "List", items: resources },
  });
  assert.equal(r.status, 200, r.text);
  assert.ok(
    r.json.results.every((x: { action: string }) => x.action === "created"),
    r.text,
  );
});
after(() => h.close());

const PORTS = "389/TCP,8080/TCP";

describe("analysis over the live store", () => {
  it("the matrix equals the offline matrix of the same manifests", async () => {
    const world = buildWorld(resources);
    const offline = reachabilityMatrix(world.cluster, world.evaluator, parsePortList(PORTS));
    const r = await h.request("GET", `/api/v1/matrix?ports=${encodeURIComponent(PORTS)}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.revision, await h.store.revision());
    assert.deepEqual(r.json.results, offline.results);
    assert.ok(
      r.json.results.some((c: { allowed: boolean }) => !c.allowed),
      "some flow is denied",
    );
  });

  it("the matrix of a namespace, rows and columns by selector, equals the offline one", async () => {
    const world = buildWorld(resources);
    const filter = { namespace: "directory", from: "role == 'ldap-client'" };
    const offline = reachabilityMatrix(
      world.cluster,
      world.evaluator,
      parsePortList(PORTS),
      filter,
    );
    const q = new URLSearchParams({ ports: PORTS, ...filter });
    const get = await h.request("GET", `/api/v1/matrix?${q}`);
    assert.equal(get.status, 200, get.text);
    assert.deepEqual(get.json.results, offline.results);
    assert.deepEqual(get.json.workloads, offline.workloads);
    assert.ok(offline.results.length > 0);
    assert.ok(offline.results.every((c) => c.from.startsWith("directory/")));
    const whole = reachabilityMatrix(world.cluster, world.evaluator, parsePortList(PORTS));
    assert.ok(offline.results.length < whole.results.length, "the filter narrows");
    const post = await h.request("POST", "/api/v1/matrix", { body: { ports: PORTS, ...filter } });
    assert.deepEqual(post.json, get.json);
  });

  it("a bad row or column selector is a 400 naming from or to", async () => {
    for (const field of ["from", "to"]) {
      const r = await h.request("GET", `/api/v1/matrix?${field}=${encodeURIComponent("app ==")}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.details.causes[0].field, field);
    }
  });

  it("explain takes an ICMP type and code; a field that does not fit the protocol is a 400", async () => {
    const query = {
      from: "directory/blue-web-0",
      to: "directory/ldap-server-0",
      protocol: "ICMP",
      icmpType: 8,
      icmpCode: 0,
    };
    const offline = explainFlow(buildWorld(resources), { ...query, protocol: "ICMP" });
    const get = await h.request(
      "GET",
      `/api/v1/explain?${new URLSearchParams({ ...query, icmpType: "8", icmpCode: "0" })}`,
    );
    assert.equal(get.status, 200, get.text);
    const { revision, ...explanation } = get.json;
    assert.deepEqual(explanation, JSON.parse(JSON.stringify(offline)));
    assert.deepEqual(explanation.icmp, { type: 8, code: 0 });
    for (const [body, field] of [
      [{ ...query, port: 80 }, "port"],
      [{ ...query, icmpType: 300 }, "icmpType"],
      [{ ...query, icmpType: "x" }, "icmpType"],
      [{ ...query, protocol: "TCP", port: 80 }, "icmpType"],
      // ICMPv6 between two IPv4 workloads: no such packet.
      [{ ...query, protocol: "ICMPv6" }, "protocol"],
    ] as const) {
      const r = await h.request("POST", "/api/v1/explain", { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.details.causes[0].field, field, r.text);
    }
  });

  it("explain (GET and POST) equals the offline explanation", async () => {
    const query = { from: "directory/blue-web-0", to: "directory/ldap-server-0", port: 389 };
    const offline = explainFlow(buildWorld(resources), { ...query, protocol: "TCP" });
    const post = await h.request("POST", "/api/v1/explain", { body: query });
    assert.equal(post.status, 200, post.text);
    const { revision, ...explanation } = post.json;
    assert.deepEqual(explanation, JSON.parse(JSON.stringify(offline)));
    assert.equal(explanation.allowed, false);
    const get = await h.request(
      "GET",
      "/api/v1/explain?from=directory/blue-web-0&to=directory/ldap-server-0&port=389",
    );
    assert.deepEqual(get.json, post.json);
  });

  it("explain takes a named port of the destination; an unknown name is a 400 naming it", async () => {
    const base = "/api/v1/explain?from=directory/blue-web-0&to=directory/ldap-server-0";
    const byName = await h.request("GET", `${base}&port=ldap`);
    const byNumber = await h.request("GET", `${base}&port=389`);
    assert.equal(byName.status, 200, byName.text);
    assert.deepEqual(byName.json, byNumber.json);
    const missing = await h.request("GET", `${base}&port=nosuch`);
    assert.equal(missing.status, 400, missing.text);
    assert.equal(missing.json.details.causes[0].field, "port");
    assert.match(missing.json.message, /"nosuch" is not a named port of directory\/ldap-server-0/);
  });

  it("follows the store: relabelling the client makes the flow allowed", async () => {
    const patch = await h.request("PATCH", "/api/v1/namespaces/directory/pods/blue-web-0", {
      raw: JSON.stringify({ metadata: { labels: { role: "ldap-client" } } }),
      headers: { "content-type": "application/merge-patch+json" },
    });
    assert.equal(patch.status, 200, patch.text);
    const r = await h.request("POST", "/api/v1/explain", {
      body: { from: "directory/blue-web-0", to: "directory/ldap-server-0", port: 389 },
    });
    assert.equal(r.json.allowed, true, r.text);
    assert.equal(r.json.revision, await h.store.revision());
  });

  it("bad ports are a 400 naming ports", async () => {
    const r = await h.request("GET", "/api/v1/matrix?ports=99999");
    assert.equal(r.status, 400);
    assert.equal(r.json.details.causes[0].field, "ports");
  });
});
