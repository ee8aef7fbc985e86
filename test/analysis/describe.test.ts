// describe: which policies select an endpoint per direction and tier, what a policy selects and
// its rules in words, over a small world written for it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Description } from "../../src/analysis/describe.ts";
import { describeResource } from "../../src/analysis/describe.ts";
import { formatDescription } from "../../src/analysis/describe-text.ts";
import { parseManifests, type Resource } from "../../src/model/index.ts";

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { env: prod } }
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, namespace: shop, labels: { app: web } }
spec:
  nodeName: node-1
  containers: [{ name: c, ports: [{ name: http, containerPort: 8080 }] }]
status: { podIPs: [{ ip: 198.18.1.10 }, { ip: "fd00::10" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: db-0, namespace: shop, labels: { app: db } }
status: { podIPs: [{ ip: 198.18.1.20 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: agent, namespace: shop, labels: { app: web } }
spec: { hostNetwork: true }
status: { podIPs: [{ ip: 198.18.0.1 }] }
---
apiVersion: microseg.io/v1
kind: Tier
metadata: { name: security }
spec: { order: 100, defaultAction: Pass }
---
apiVersion: microseg.io/v1
kind: GlobalNetworkPolicy
metadata: { name: security.quarantine }
spec:
  tier: security
  order: 5
  selector: app == "web"
  types: [Ingress, Egress]
  ingress: [{ action: Deny, source: { nets: [203.0.113.0/24] } }]
  egress: [{ action: Pass }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-in, namespace: shop }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: db } } }]
      ports: [{ port: 8080, protocol: TCP }]
---
apiVersion: microseg.io/v1
kind: StagedNetworkPolicy
metadata: { name: lock-db, namespace: shop }
spec:
  selector: app == "db"
  types: [Egress]
  egress: [{ action: Deny }]
`;

function world(): Resource[] {
  const r = parseManifests(MANIFESTS, "describe.yaml");
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.resources;
}

function describeOf(kind: string, name: string, namespace?: string): Description {
  const apiVersion =
    kind === "NetworkPolicy" ? "networking.k8s.io/v1" : kind === "Pod" ? "v1" : "microseg.io/v1";
  const d = describeResource(world(), { apiVersion, kind, metadata: { name, namespace } });
  assert.ok(d, `${kind} ${name} not found`);
  return d;
}

describe("describe an endpoint", () => {
  it("lists the selecting policies per direction, tier by tier in evaluation order", () => {
    const d = describeOf("Pod", "web-0", "shop");
    assert.equal(d.type, "endpoint");
    if (d.type !== "endpoint") return;
    assert.deepEqual(d.endpoint.addresses, ["198.18.1.10", "fd00::10"]);
    assert.equal(d.endpoint.node, "node-1");
    assert.deepEqual(
      d.ingress.tiers.map((t) => [t.tier, t.policies.map((p) => `${p.kind} ${p.name}`)]),
      [
        ["security", ["GlobalNetworkPolicy quarantine"]],
        ["default", ["KubernetesNetworkPolicy web-in"]],
      ],
    );
    assert.deepEqual(
      d.egress.tiers.map((t) => t.tier),
      ["security"],
      "the Kubernetes policy has no egress",
    );
    assert.equal(d.ingress.open, undefined);
  });

  it("names the selecting policies as written: the tier prefix kept, Kubernetes' kind with its group", () => {
    const text = formatDescription(describeOf("Pod", "web-0", "shop"));
    assert.match(text, /^ {4}GlobalNetworkPolicy security\.quarantine \(order 5\)$/m);
    assert.match(text, /^ {4}networking\.k8s\.io\/NetworkPolicy shop\/web-in \(order 1000\)$/m);
    assert.doesNotMatch(text, /GlobalNetworkPolicy quarantine|KubernetesNetworkPolicy/);
  });

  it("says a direction is open when no policy selects the endpoint", () => {
    const d = describeOf("Pod", "db-0", "shop");
    assert.ok(d.type === "endpoint");
    assert.equal(d.ingress.tiers.length, 0);
    assert.match(d.ingress.open ?? "", /no policy selects/);
    assert.ok(d.staged, "staged policies exist, so the staged view is there");
    assert.deepEqual(
      d.staged.egress.tiers.map((t) => t.policies.map((p) => `${p.kind} ${p.name}`)),
      [["StagedNetworkPolicy lock-db"]],
    );
  });

  it("a host-network pod matches no pod policy, and says why", () => {
    const d = describeOf("Pod", "agent", "shop");
    assert.ok(d.type === "endpoint");
    assert.equal(d.ingress.tiers.length, 0);
    assert.match(d.ingress.open ?? "", /host-network/);
  });
});

describe("describe a policy", () => {
  it("a Kubernetes NetworkPolicy: its tier, the pods it selects, its rules in words", () => {
    const d = describeOf("NetworkPolicy", "web-in", "shop");
    assert.ok(d.type === "policy" && d.policy);
    assert.equal(d.policy.tier, "default");
    assert.deepEqual(d.policy.types, ["ingress"]);
    assert.deepEqual(d.selects, ["shop/web-0"], "not the host-network pod");
    assert.equal(d.ingress.length, 1);
    assert.match(
      d.ingress[0] ?? "",
      /^Allow TCP from endpoints matching .*app == "db".* to ports 8080$/,
    );
    assert.deepEqual(d.egress, []);
  });

  it("a tiered Calico policy is found under its name with the tier prefix", () => {
    const d = describeOf("GlobalNetworkPolicy", "security.quarantine");
    assert.ok(d.type === "policy" && d.policy);
    assert.equal(d.policy.tier, "security");
    assert.equal(d.policy.order, 5);
    assert.deepEqual(d.selects, ["shop/web-0"]);
    assert.deepEqual(d.ingress, ["Deny from nets 203.0.113.0/24 to anywhere"]);
    assert.deepEqual(d.egress, ["Pass from anywhere to anywhere"]);
  });

  it("a staged policy names what it stages and what it would select", () => {
    const d = describeOf("StagedNetworkPolicy", "lock-db", "shop");
    assert.ok(d.type === "policy");
    assert.deepEqual(d.stages, {
      action: "Set",
      target: { kind: "NetworkPolicy", namespace: "shop", name: "lock-db" },
    });
    assert.deepEqual(d.selects, ["shop/db-0"]);
  });

  it("prints as kubectl describe lays fields out", () => {
    const text = formatDescription(describeOf("GlobalNetworkPolicy", "security.quarantine"));
    assert.equal(
      text,
      [
        "Name:         security.quarantine",
        "Kind:         GlobalNetworkPolicy (microseg.io/v1)",
        "Labels:       <none>",
        "Annotations:  <none>",
        "Tier:         security",
        "Order:        5",
        'Selector:     app == "web"',
        "Types:        Ingress, Egress",
        "Selects:      shop/web-0",
        "Ingress rules:",
        "  0: Deny from nets 203.0.113.0/24 to anywhere",
        "Egress rules:",
        "  0: Pass from anywhere to anywhere",
        "",
      ].join("\n"),
    );
  });
});

describe("describe anything else", () => {
  it("shows the object's metadata; an object not in the set is undefined", () => {
    const d = describeOf("Tier", "security");
    assert.equal(d.type, "object");
    assert.equal(
      describeResource(world(), {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "x", namespace: "shop" },
      }),
      undefined,
    );
  });
});
