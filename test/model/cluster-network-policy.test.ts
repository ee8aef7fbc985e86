// policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy: the CRD's OpenAPI and CEL rules.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseResource } from "../../src/model/index.ts";
import { expectIssues, expectValid, type InvalidCase, variant } from "./helpers.ts";

const cnp = {
  apiVersion: "policy.networking.k8s.io/v1alpha2",
  kind: "ClusterNetworkPolicy",
  metadata: { name: "cluster-control" },
  spec: {
    tier: "Admin",
    priority: 10,
    subject: { namespaces: { matchLabels: { tenant: "blue" } } },
    ingress: [
      {
        name: "allow-monitoring",
        action: "Accept",
        from: [{ namespaces: { matchLabels: { team: "monitoring" } } }],
        protocols: [
          { tcp: { destinationPort: { number: 9090 } } },
          { destinationNamedPort: "metrics" },
        ],
      },
    ],
    egress: [
      {
        name: "deny-internet",
        action: "Deny",
        to: [{ networks: ["0.0.0.0/0", "::/0"] }, { nodes: { matchLabels: { role: "infra" } } }],
        protocols: [{ udp: { destinationPort: { range: { start: 30000, end: 32767 } } } }],
      },
      {
        action: "Pass",
        to: [{ pods: { podSelector: { matchLabels: { app: "dns" } } } }],
      },
    ],
  },
};

describe("ClusterNetworkPolicy", () => {
  test("every peer and protocol form validates; an unset namespaceSelector selects all", () => {
    const policy = expectValid(cnp);
    if (policy.kind !== "ClusterNetworkPolicy") return assert.fail("wrong kind");
    assert.deepEqual(policy.spec.egress?.[1]?.to[0]?.pods?.namespaceSelector, {});
    assert.equal(expectValid(variant(cnp, (p) => (p.spec.tier = "Baseline"))).kind, cnp.kind);
  });

  test("Antrea's ClusterNetworkPolicy is refused as a policy kind, not skipped", () => {
    const result = parseResource(variant(cnp, (p) => (p.apiVersion = "crd.antrea.io/v1beta1")));
    assert.ok(!result.ok);
    assert.match(
      result.issues[0]!.message,
      /^ClusterNetworkPolicy \(crd\.antrea\.io\/v1beta1\) is not supported \(ClusterNetworkPolicy is policy\.networking\.k8s\.io\/v1alpha2\): ignoring a policy would enforce less than written; policy kinds accepted: .*policy\.networking\.k8s\.io\/v1alpha2 ClusterNetworkPolicy/,
    );
  });

  const cases: InvalidCase[] = [
    {
      name: "missing tier",
      input: variant(cnp, (p) => delete p.spec.tier),
      issues: ["spec.tier: required"],
    },
    {
      name: "tier spelled as a Calico tier",
      input: variant(cnp, (p) => (p.spec.tier = "adminnetworkpolicy")),
      issues: ["spec.tier: must be one of Admin, Baseline"],
    },
    {
      name: "priority above 1000",
      input: variant(cnp, (p) => (p.spec.priority = 1001)),
      issues: ["spec.priority: must be an integer 0-1000"],
    },
    {
      name: "v1alpha1 action Allow",
      input: variant(cnp, (p) => (p.spec.ingress[0].action = "Allow")),
      issues: ["spec.ingress[0].action: must be one of Accept, Deny, Pass"],
    },
    {
      name: "v1alpha1 ports field",
      input: variant(cnp, (p) => (p.spec.ingress[0].ports = [{ namedPort: "x" }])),
      issues: ["spec.ingress[0].ports: unknown field"],
    },
    {
      name: "protocol entry without a port",
      input: variant(cnp, (p) => (p.spec.ingress[0].protocols[0] = { tcp: {} })),
      issues: ["spec.ingress[0].protocols[0].tcp.destinationPort: required"],
    },
    {
      name: "protocol entry with two protocols",
      input: variant(
        cnp,
        (p) => (p.spec.ingress[0].protocols[0].udp = { destinationPort: { number: 53 } }),
      ),
      issues: [
        "spec.ingress[0].protocols[0]: must set exactly one of tcp, udp, sctp, destinationNamedPort",
      ],
    },
    {
      name: "port with number and range",
      input: variant(
        cnp,
        (p) => (p.spec.ingress[0].protocols[0].tcp.destinationPort.range = { start: 1, end: 2 }),
      ),
      issues: [
        "spec.ingress[0].protocols[0].tcp.destinationPort: must set exactly one of number, range",
      ],
    },
    {
      name: "port range end not above start",
      input: variant(
        cnp,
        (p) => (p.spec.egress[0].protocols[0].udp.destinationPort.range.end = 30000),
      ),
      issues: [
        "spec.egress[0].protocols[0].udp.destinationPort.range.end: must be greater than start",
      ],
    },
    {
      name: "named port towards networks (the CRD's CEL rule)",
      input: variant(cnp, (p) => (p.spec.egress[0].protocols = [{ destinationNamedPort: "dns" }])),
      issues: [
        "spec.egress[0].protocols: destinationNamedPort cannot be used with networks or nodes peers (they have no named ports)",
      ],
    },
    {
      name: "domainNames peer",
      input: variant(cnp, (p) => (p.spec.egress[1].to = [{ domainNames: ["*.example.com"] }])),
      issues: [
        "spec.egress[1].to[0].domainNames: domainNames peers are not supported (FQDN match needs DNS snooping); use networks",
      ],
    },
    {
      name: "nodes peer in an ingress rule",
      input: variant(cnp, (p) => (p.spec.ingress[0].from = [{ nodes: {} }])),
      issues: [
        "spec.ingress[0].from[0].nodes: unknown field",
        "spec.ingress[0].from[0]: must set exactly one of namespaces, pods",
      ],
    },
    {
      name: "more than 25 rules",
      input: variant(cnp, (p) => (p.spec.egress = Array(26).fill(p.spec.egress[1]))),
      issues: ["spec.egress: must list at most 25 rules"],
    },
    {
      name: "empty subject",
      input: variant(cnp, (p) => (p.spec.subject = {})),
      issues: ["spec.subject: must set exactly one of namespaces, pods"],
    },
    {
      name: "namespaced",
      input: variant(cnp, (p) => (p.metadata.namespace = "default")),
      issues: ["metadata.namespace: must not be set: ClusterNetworkPolicy is cluster-scoped"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});
