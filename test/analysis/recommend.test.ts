// recommend: least-privilege StagedNetworkPolicies from recorded flows. Promoted, they allow
// every recorded flow and deny every pair of workloads (on every port seen or declared) that
// was never recorded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergePorts, recommend } from "../../src/analysis/recommend.ts";
import { promote } from "../../src/analysis/staged.ts";
import { type Resource, validResources } from "../../src/model/index.ts";
import { parseAddress } from "../../src/net/cidr.ts";
import { buildWorld, type Protocol } from "../../src/policy/index.ts";
import { namespaces, pod, record } from "./flow-records.ts";

const WEB0 = { ns: "shop", name: "web-0", ip: "198.18.1.10" };
const WEB1 = { ns: "shop", name: "web-1", ip: "198.18.1.11" };
const DB = { ns: "shop", name: "db-0", ip: "198.18.1.20" };
const CLIENT = { ns: "shop", name: "client-0", ip: "198.18.1.30" };
const CLIENT1 = { ns: "shop", name: "client-1", ip: "198.18.1.31" };
const DNS = { ns: "kube-system", name: "coredns-0", ip: "198.18.2.53" };
const OUTSIDE = { ip: "203.0.113.7" };

const workloads: Resource[] = [
  ...namespaces("shop", "kube-system"),
  ...validResources([
    pod("shop", "web-0", WEB0.ip, { app: "web", tier: "front" }, [{ port: 8080 }, { port: 8081 }]),
    pod("shop", "web-1", WEB1.ip, { app: "web", tier: "front" }, [{ port: 8080 }, { port: 8081 }]),
    pod("shop", "db-0", DB.ip, { app: "db", tier: "back" }, [{ port: 5432 }]),
    pod("shop", "client-0", CLIENT.ip, { app: "client", tier: "front" }),
    // Another owner of the same app: its own policy, but one rule with client-0 where both
    // were seen on the same ports.
    pod("shop", "client-1", CLIENT1.ip, { app: "client", zone: "b" }),
    pod("kube-system", "coredns-0", DNS.ip, { "k8s-app": "kube-dns" }, [
      { port: 53, protocol: "UDP" },
    ]),
  ]),
];

const records = [
  record(CLIENT, WEB0, 8080, "tcp", "allow", 5),
  record(CLIENT, WEB1, 8081, "tcp", "allow", 2),
  record(CLIENT1, WEB0, 8080, "tcp", "allow", 1),
  record(CLIENT1, WEB1, 8081, "tcp", "allow", 1),
  record(WEB0, DB, 5432, "tcp"),
  record(WEB1, DB, 5432, "tcp"),
  record(WEB0, DNS, 53, "udp"),
  record(CLIENT, DNS, 53, "udp"),
  record(OUTSIDE, WEB0, 8080, "tcp"),
  // Replicas of one owner talking to each other: one rule admits the owner to itself.
  record(WEB0, WEB1, 8080, "tcp"),
  // A denied attempt is not recommended.
  record(CLIENT, DB, 5432, "tcp", "deny"),
];

type Key = string;
const key = (from: string, to: string, port: number, protocol: Protocol): Key =>
  `${from} -> ${to} ${port}/${protocol}`;

describe("recommend", () => {
  const staged = recommend(workloads, records);
  const byName = new Map(staged.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));

  it("one StagedNetworkPolicy per owner, selected by the fewest labels that tell it apart", () => {
    assert.deepEqual(
      [...byName.keys()].sort(),
      [
        "kube-system/recommended-kube-dns",
        "shop/recommended-client-front",
        "shop/recommended-db",
        "shop/recommended-web",
        "shop/recommended-b",
      ].sort(),
    );
    const web = byName.get("shop/recommended-web")!;
    assert.equal(web.kind, "StagedNetworkPolicy");
    if (web.kind !== "StagedNetworkPolicy") return;
    assert.equal(web.spec.selector, 'app == "web"', "tier is shared with client: not needed");
    assert.equal(web.metadata.annotations?.["microseg.io/workloads"], "shop/web-0,shop/web-1");
  });

  it("ports merged into ranges, peers in other namespaces by namespace, outside by address", () => {
    const web = byName.get("shop/recommended-web")!;
    if (web.kind !== "StagedNetworkPolicy") assert.fail();
    const ingress = web.spec.ingress ?? [];
    const fromClient = ingress.find((r) => r.source?.selector === 'app == "client"');
    assert.deepEqual(fromClient?.destination?.ports, ["8080:8081"]);
    assert.equal(fromClient?.metadata?.annotations?.["microseg.io/connections"], "9");
    assert.equal(
      ingress.filter((r) => /client|zone/.test(r.source?.selector ?? "")).length,
      1,
      "client-0 and client-1: one rule by their shared label",
    );
    assert.ok(ingress.some((r) => r.source?.nets?.[0] === "203.0.113.7/32"));
    const dns = (web.spec.egress ?? []).find((r) => r.protocol === "UDP");
    assert.deepEqual(dns?.destination, {
      selector: 'k8s-app == "kube-dns"',
      namespaceSelector: 'projectcalico.org/name == "kube-system"',
      ports: [53],
    });
    assert.match(
      web.metadata.annotations?.["microseg.io/evidence"] ?? "",
      /^\d+ flow records, \d+ connections, seen /,
    );
    assert.deepEqual(mergePorts([443, 80, 81, 82, 8080]), ["80:82", 443, 8080]);
  });

  it("promoted: every recorded (non-denied) flow allowed, every other workload pair denied", () => {
    const world = buildWorld([...workloads, ...staged.map(promote)]);
    const ws = world.cluster.workloads();
    const observed = new Set(
      records
        .filter((r) => r.fields.action !== "deny")
        .map((r) =>
          key(
            r.fields.source_name
              ? `${r.fields.source_namespace}/${r.fields.source_name}`
              : r.fields.source_ip,
            `${r.fields.dest_namespace}/${r.fields.dest_name}`,
            Number(r.fields.dest_port),
            r.fields.proto.toUpperCase() as Protocol,
          ),
        ),
    );
    const ports: Array<{ port: number; protocol: Protocol }> = [
      { port: 53, protocol: "UDP" },
      { port: 5432, protocol: "TCP" },
      { port: 8080, protocol: "TCP" },
      { port: 8081, protocol: "TCP" },
      { port: 22, protocol: "TCP" },
    ];
    const wrong: string[] = [];
    let allowed = 0;
    for (const a of ws) {
      for (const b of ws) {
        if (a.id === b.id) continue;
        for (const pp of ports) {
          const v = world.evaluator.evaluate({
            source: world.cluster.peerOf(a),
            destination: world.cluster.peerOf(b),
            ...pp,
          });
          const k = key(a.id, b.id, pp.port, pp.protocol);
          // web-0 and web-1 are one owner: what either was seen doing, both may do.
          const seen =
            observed.has(k) ||
            [...observed].some(
              (o) => o.replace(/web-\d/g, "web-N") === k.replace(/web-\d/g, "web-N"),
            );
          if (v.allowed) allowed++;
          if (v.allowed !== seen) wrong.push(`${k}: expected ${seen ? "allow" : "deny"}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(allowed >= 6, `only ${allowed} allowed`);
    const outside = world.evaluator.evaluate({
      source: world.cluster.peerAt(parseAddress("203.0.113.7")),
      destination: world.cluster.peerOf(world.cluster.endpoint("shop/web-1")!),
      port: 8080,
      protocol: "TCP",
    });
    assert.ok(outside.ingress.allowed, "the outside address seen reaching web");
    const stranger = world.evaluator.evaluate({
      source: world.cluster.peerAt(parseAddress("198.51.100.1")),
      destination: world.cluster.peerOf(world.cluster.endpoint("shop/web-1")!),
      port: 8080,
      protocol: "TCP",
    });
    assert.equal(stranger.ingress.allowed, false, "an address never seen");
  });

  it("replicas whose labels a look-alike extends are told apart by !has()", () => {
    const set = [
      ...namespaces("app"),
      ...validResources([
        pod("app", "api-0", "198.18.3.10", { app: "api" }),
        pod("app", "api-canary-0", "198.18.3.11", { app: "api", canary: "true" }),
      ]),
    ];
    const names = new Map(
      recommend(set, []).map((p) => [
        p.metadata.name,
        p.kind === "StagedNetworkPolicy" ? p.spec.selector : "",
      ]),
    );
    assert.deepEqual(Object.fromEntries(names), {
      "recommended-api": 'app == "api" && !has(canary)',
      "recommended-canary": 'canary == "true"',
    });
  });

  it("DNS over UDP: the clients' egress to kube-dns and kube-dns's ingress from them, 53/UDP only", () => {
    const dns = byName.get("kube-system/recommended-kube-dns")!;
    if (dns.kind !== "StagedNetworkPolicy") assert.fail();
    assert.equal(dns.spec.tier, "default", "recommendations live in the default tier");
    const ingress = (dns.spec.ingress ?? []).map((r) => ({
      protocol: r.protocol,
      from: r.source?.selector,
      ns: r.source?.namespaceSelector,
      ports: r.destination?.ports,
    }));
    // web and client-0 asked alike, and `tier: front` picks out exactly them: one rule.
    assert.deepEqual(ingress, [
      {
        protocol: "UDP",
        from: 'tier == "front"',
        ns: 'projectcalico.org/name == "shop"',
        ports: [53],
      },
    ]);
    const world = buildWorld([...workloads, ...staged.map(promote)]);
    const toDns = (from: string, port: number, protocol: Protocol) =>
      world.evaluator.evaluate({
        source: world.cluster.peerOf(world.cluster.endpoint(from)!),
        destination: world.cluster.peerOf(world.cluster.endpoint("kube-system/coredns-0")!),
        port,
        protocol,
      }).allowed;
    assert.equal(toDns("shop/web-1", 53, "UDP"), true, "web-1 is web-0's owner: it may too");
    assert.equal(toDns("shop/web-0", 53, "TCP"), false, "only the protocol seen");
    assert.equal(toDns("shop/db-0", 53, "UDP"), false, "db was never seen asking");
  });

  it("owners, not pods: Deployments' pods and records folded by owner become one policy per owner", () => {
    const deployment = (name: string, labels: Record<string, string>, port: number) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: "shop" },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "c", ports: [{ containerPort: port }] }] },
        },
      },
    });
    const set = [
      ...namespaces("shop"),
      ...validResources([
        deployment("api", { app: "api" }, 8443),
        deployment("worker", { app: "worker" }, 9000),
        deployment("cron", { app: "cron" }, 9100),
      ]),
    ];
    // Pods the set does not hold, by name and address, and a record folded by owner (no addresses).
    const worker = { ns: "shop", name: "worker-7d4b9c8f5-x2x4z", ip: "198.18.4.10" };
    const worker2 = { ns: "shop", name: "worker-7d4b9c8f5-k9v7q", ip: "198.18.4.11" };
    const api = { ns: "shop", name: "api-5f6d8b7c9-qwxzt", ip: "198.18.4.20" };
    const folded = { ns: "shop", name: "api-*", ip: "" };
    const recs = [
      record(worker, api, 8443, "tcp", "allow", 4),
      record(worker2, folded, 8443, "tcp", "allow", 6),
      record({ ns: "shop", name: "cron-*", ip: "" }, folded, 8443, "tcp", "deny", 1),
    ];
    const out = recommend(set, recs);
    assert.deepEqual(out.map((p) => p.metadata.name).sort(), [
      "recommended-api",
      "recommended-cron",
      "recommended-worker",
    ]);
    const apiPolicy = out.find((p) => p.metadata.name === "recommended-api")!;
    if (apiPolicy.kind !== "StagedNetworkPolicy") assert.fail();
    assert.equal(apiPolicy.metadata.annotations?.["microseg.io/workloads"], "shop/deployment/api");
    assert.deepEqual(
      (apiPolicy.spec.ingress ?? []).map((r) => [r.source?.selector, r.destination?.ports]),
      [['app == "worker"', [8443]]],
      "one rule from the worker owner, no pod addresses",
    );
    assert.equal(
      apiPolicy.spec.ingress?.[0]?.metadata?.annotations?.["microseg.io/connections"],
      "10",
    );
    const world = buildWorld([...set, ...out.map(promote)]);
    const reach = (from: string, to: string) =>
      world.evaluator.evaluate({
        source: world.cluster.peerOf(world.cluster.endpoint(`shop/deployment/${from}`)!),
        destination: world.cluster.peerOf(world.cluster.endpoint(`shop/deployment/${to}`)!),
        port: 8443,
        protocol: "TCP",
      }).allowed;
    assert.equal(reach("worker", "api"), true);
    assert.equal(reach("cron", "api"), false, "denied when recorded, denied when promoted");
    assert.equal(reach("api", "worker"), false);
  });

  it("-n limits the policies to one namespace; no flows means deny all, said so", () => {
    const only = recommend(workloads, [], { namespace: "kube-system" });
    assert.equal(only.length, 1);
    assert.equal(
      only[0]!.metadata.annotations?.["microseg.io/evidence"],
      "no flows observed: deny all",
    );
  });
});
