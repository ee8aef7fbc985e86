// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { expectIssues, expectValid, type InvalidCase, variant } from "./helpers.ts";

const anp = {
  apiVersion: "policy.networking.k8s.io/v1alpha1",
  kind: "AdminNetworkPolicy",
  metadata: { name: "cluster-control" },
  spec: {
    priority: 10,
    subject: { namespaces: { matchLabels: { tenant: "blue" } } },
    ingress: [
      {
        name: "allow-monitoring",
        action: "Allow",
        from: [{ namespaces: { matchLabels: { team: "monitoring" } } }],
        ports: [{ portNumber: { protocol: "TCP", port: 9090 } }, { namedPort: "metrics" }],
      },
    ],
    egress: [
      {
        name: "deny-internet",
        action: "Deny",
        to: [{ networks: ["0.0.0.0/0", "::/0"] }, { nodes: { matchLabels: { role: "infra" } } }],
        ports: [{ portRange: { protocol: "UDP", start: 30000, end: 32767 } }],
      },
      {
        action: "Pass",
        to: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: "dns" } } } }],
      },
    ],
  },
};

const banp = {
  apiVersion: "policy.networking.k8s.io/v1alpha1",
  kind: "BaselineAdminNetworkPolicy",
  metadata: { name: "default" },
  spec: {
    subject: { pods: { namespaceSelector: {}, podSelector: {} } },
    ingress: [{ action: "Deny", from: [{ namespaces: {} }] }],
  },
};

describe("AdminNetworkPolicy", () => {
  test("every peer and port form validates; protocol defaults stay unapplied", () => {
    const policy = expectValid(
      variant(anp, (p) => delete p.spec.ingress[0].ports[0].portNumber.protocol),
    );
    assert.equal(policy.kind, "AdminNetworkPolicy");
    if (policy.kind !== "AdminNetworkPolicy") return;
    assert.deepEqual(policy.spec.ingress?.[0]?.ports?.[0], { portNumber: { port: 9090 } });
    assert.equal(policy.metadata.namespace, undefined);
  });

  test("legacy sameLabels / notSameLabels load as documented", () => {
    const policy = expectValid(
      variant(anp, (p) => {
        p.spec.ingress[0].from = [
          { namespaces: { sameLabels: ["tenant"] } },
          { namespaces: { notSameLabels: ["tenant"] } },
          { pods: { namespaces: { sameLabels: ["tenant"] }, podSelector: {} } },
        ];
      }),
    );
    if (policy.kind !== "AdminNetworkPolicy") return assert.fail("wrong kind");
    assert.deepEqual(policy.spec.ingress?.[0]?.from, [
      { namespaces: { sameLabels: ["tenant"] } },
      { namespaces: { notSameLabels: ["tenant"] } },
      { pods: { namespaceSelector: { sameLabels: ["tenant"] }, podSelector: {} } },
    ]);
  });

  test("pre-v0.1.5 namespaces.namespaceSelector peers load as the selector they hold", () => {
    const legacy = expectValid(
      variant(anp, (p) => {
        p.spec.ingress[0].from = [
          { namespaces: { namespaceSelector: { matchLabels: { team: "monitoring" } } } },
          {
            pods: {
              namespaces: { namespaceSelector: { matchLabels: { tenant: "blue" } } },
              podSelector: { matchLabels: { app: "prometheus" } },
            },
          },
        ];
        p.spec.egress[1].to = [{ namespaces: { namespaceSelector: {} } }];
      }),
    );
    const current = expectValid(
      variant(anp, (p) => {
        p.spec.ingress[0].from = [
          { namespaces: { matchLabels: { team: "monitoring" } } },
          {
            pods: {
              namespaceSelector: { matchLabels: { tenant: "blue" } },
              podSelector: { matchLabels: { app: "prometheus" } },
            },
          },
        ];
        p.spec.egress[1].to = [{ namespaces: {} }];
      }),
    );
    assert.deepEqual(legacy, current);
  });

  const cases: InvalidCase[] = [
    {
      name: "a pre-v0.1.5 namespaceSelector beside a selector of the current form",
      input: variant(anp, (p) => {
        p.spec.ingress[0].from = [
          { namespaces: { namespaceSelector: {}, matchLabels: { team: "monitoring" } } },
        ];
      }),
      issues: [
        "spec.ingress[0].from[0].namespaces.namespaceSelector: the pre-v0.1.5 namespaceSelector stands alone: set it, or matchLabels/matchExpressions, or sameLabels/notSameLabels",
      ],
    },
    {
      name: "priority above 1000",
      input: variant(anp, (p) => (p.spec.priority = 1001)),
      issues: ["spec.priority: must be an integer 0-1000"],
    },
    {
      name: "negative priority",
      input: variant(anp, (p) => (p.spec.priority = -1)),
      issues: ["spec.priority: must be an integer 0-1000"],
    },
    {
      name: "fractional priority",
      input: variant(anp, (p) => (p.spec.priority = 1.5)),
      issues: ["spec.priority: must be an integer 0-1000"],
    },
    {
      name: "missing priority",
      input: variant(anp, (p) => delete p.spec.priority),
      issues: ["spec.priority: required"],
    },
    {
      name: "subject with both namespaces and pods",
      input: variant(
        anp,
        (p) => (p.spec.subject.pods = { namespaceSelector: {}, podSelector: {} }),
      ),
      issues: ["spec.subject: must set exactly one of namespaces, pods"],
    },
    {
      name: "empty subject",
      input: variant(anp, (p) => (p.spec.subject = {})),
      issues: ["spec.subject: must set exactly one of namespaces, pods"],
    },
    {
      name: "action",
      input: variant(anp, (p) => (p.spec.ingress[0].action = "Log")),
      issues: ["spec.ingress[0].action: must be one of Allow, Deny, Pass"],
    },
    {
      name: "rule without peers",
      input: variant(anp, (p) => (p.spec.egress[1].to = [])),
      issues: ["spec.egress[1].to: must list at least one peer"],
    },
    {
      name: "nodes peer in an ingress rule",
      input: variant(anp, (p) => (p.spec.ingress[0].from = [{ nodes: {} }])),
      issues: [
        "spec.ingress[0].from[0].nodes: unknown field",
        "spec.ingress[0].from[0]: must set exactly one of namespaces, pods",
      ],
    },
    {
      name: "peer with two selectors",
      input: variant(anp, (p) => (p.spec.egress[0].to[1].namespaces = {})),
      issues: ["spec.egress[0].to[1]: must set exactly one of namespaces, pods, nodes, networks"],
    },
    {
      name: "bad network CIDR",
      input: variant(anp, (p) => (p.spec.egress[0].to[0].networks = ["10.0.0.0/8", "10.0.0.0"])),
      issues: ["spec.egress[0].to[0].networks[1]: must be a CIDR such as 10.0.0.0/16 or fd00::/64"],
    },
    {
      name: "pods peer without podSelector",
      input: variant(anp, (p) => delete p.spec.egress[1].to[0].pods.podSelector),
      issues: ["spec.egress[1].to[0].pods.podSelector: required"],
    },
    {
      name: "port with two forms",
      input: variant(anp, (p) => (p.spec.ingress[0].ports[1].portNumber = { port: 80 })),
      issues: [
        "spec.ingress[0].ports[1]: must set exactly one of portNumber, namedPort, portRange",
      ],
    },
    {
      name: "port number out of range",
      input: variant(anp, (p) => (p.spec.ingress[0].ports[0].portNumber.port = 65536)),
      issues: ["spec.ingress[0].ports[0].portNumber.port: must be 1-65535"],
    },
    {
      name: "port range end not above start",
      input: variant(anp, (p) => (p.spec.egress[0].ports[0].portRange.end = 30000)),
      issues: ["spec.egress[0].ports[0].portRange.end: must be greater than start"],
    },
    {
      name: "named port not a port name",
      input: variant(anp, (p) => (p.spec.ingress[0].ports[1].namedPort = "Metrics")),
      issues: [
        "spec.ingress[0].ports[1].namedPort: must be a port name: at most 15 lowercase letters, digits or '-', with at least one letter, no leading, trailing or double '-'",
      ],
    },
    {
      name: "rule name over 100 characters",
      input: variant(anp, (p) => (p.spec.ingress[0].name = "x".repeat(101))),
      issues: ["spec.ingress[0].name: must be at most 100 characters"],
    },
    {
      name: "sameLabels mixed with a selector",
      input: variant(
        anp,
        (p) =>
          (p.spec.ingress[0].from = [
            { namespaces: { matchLabels: { a: "b" }, sameLabels: ["x"] } },
          ]),
      ),
      issues: [
        "spec.ingress[0].from[0].namespaces: sameLabels and notSameLabels stand alone: set one of them, or a label selector",
      ],
    },
    {
      name: "namespaced",
      input: variant(anp, (p) => (p.metadata.namespace = "default")),
      issues: ["metadata.namespace: must not be set: AdminNetworkPolicy is cluster-scoped"],
    },
    {
      name: "unknown spec field",
      input: variant(anp, (p) => (p.spec.tier = "admin")),
      issues: ["spec.tier: unknown field"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});

describe("BaselineAdminNetworkPolicy", () => {
  test("valid", () => assert.equal(expectValid(banp).kind, "BaselineAdminNetworkPolicy"));

  const cases: InvalidCase[] = [
    {
      name: "name other than default",
      input: variant(banp, (p) => (p.metadata.name = "baseline")),
      issues: ['metadata.name: must be "default"'],
    },
    {
      name: "Pass is not a baseline action",
      input: variant(banp, (p) => (p.spec.ingress[0].action = "Pass")),
      issues: ["spec.ingress[0].action: must be one of Allow, Deny"],
    },
    {
      name: "no priority",
      input: variant(banp, (p) => (p.spec.priority = 5)),
      issues: ["spec.priority: unknown field"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});
