// Where ClusterNetworkPolicy sits against the other kinds: Admin-tier CNPs share the
// adminnetworkpolicy tier with AdminNetworkPolicies by priority; Baseline-tier CNPs share the
// baselineadminnetworkpolicy tier with the BANP (order 1000) and Calico policies by order.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Resource } from "../corpus/corpus.ts";
import { judge, namespace, pod, policy } from "./fixtures.ts";

const cluster: Resource[] = [
  namespace("x"),
  namespace("y"),
  pod("x/a", "198.18.1.1", { app: "a" }),
  pod("y/b", "198.18.2.1", { app: "b" }, { ports: [{ name: "web", port: 80 }] }),
];

type Action = "Accept" | "Deny" | "Pass";

function cnp(name: string, tier: "Admin" | "Baseline", priority: number, action: Action): Resource {
  return {
    apiVersion: "policy.networking.k8s.io/v1alpha2",
    kind: "ClusterNetworkPolicy",
    metadata: { name },
    spec: {
      tier,
      priority,
      subject: { namespaces: { matchLabels: { "kubernetes.io/metadata.name": "y" } } },
      ingress: [
        {
          name: `${action.toLowerCase()}-from-x`,
          action,
          from: [{ namespaces: { matchLabels: { "kubernetes.io/metadata.name": "x" } } }],
          protocols: [{ destinationNamedPort: "web" }],
        },
      ],
    },
  };
}

function anp(name: string, priority: number, action: "Allow" | "Deny" | "Pass"): Resource {
  return {
    apiVersion: "policy.networking.k8s.io/v1alpha1",
    kind: "AdminNetworkPolicy",
    metadata: { name },
    spec: {
      priority,
      subject: { namespaces: {} },
      ingress: [{ action, from: [{ namespaces: {} }] }],
    },
  };
}

const banpAllow: Resource = {
  apiVersion: "policy.networking.k8s.io/v1alpha1",
  kind: "BaselineAdminNetworkPolicy",
  metadata: { name: "default" },
  spec: { subject: { namespaces: {} }, ingress: [{ action: "Allow", from: [{ namespaces: {} }] }] },
};

const k8sAllowAll: Resource = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "allow-all", namespace: "y" },
  spec: { podSelector: {}, ingress: [{}] },
};

function decided(resources: Resource[]): string {
  const v = judge([...cluster, ...resources], "x/a", "y/b", 80);
  const d = v.ingress.decision;
  const by =
    d.kind === "rule" ? ` by ${d.policy.kind}/${d.policy.name} in ${d.tier}` : ` (${d.kind})`;
  return `${v.allowed ? "allow" : "deny"}${by}`;
}

describe("ClusterNetworkPolicy against the other kinds", () => {
  const cases: Array<{ name: string; resources: Resource[]; expected: string }> = [
    {
      name: "Admin CNP Deny at priority 5 comes before an ANP Allow at 10",
      resources: [cnp("deny", "Admin", 5, "Deny"), anp("allow", 10, "Allow")],
      expected: "deny by ClusterNetworkPolicy/deny in adminnetworkpolicy",
    },
    {
      name: "an ANP Allow at priority 5 comes before an Admin CNP Deny at 10",
      resources: [cnp("deny", "Admin", 10, "Deny"), anp("allow", 5, "Allow")],
      expected: "allow by AdminNetworkPolicy/allow in adminnetworkpolicy",
    },
    {
      name: "Admin CNP Accept wins over a Calico deny in the default tier",
      resources: [
        cnp("accept", "Admin", 1, "Accept"),
        policy("GlobalNetworkPolicy", "deny-all", { selector: "all()", types: ["Ingress"] }),
      ],
      expected: "allow by ClusterNetworkPolicy/accept in adminnetworkpolicy",
    },
    {
      name: "Admin CNP Pass hands over to NetworkPolicy, which Baseline Deny cannot undo",
      resources: [
        cnp("pass", "Admin", 1, "Pass"),
        k8sAllowAll,
        cnp("baseline-deny", "Baseline", 1, "Deny"),
      ],
      expected: "allow by KubernetesNetworkPolicy/allow-all in default",
    },
    {
      name: "Baseline CNP Deny decides when no NetworkPolicy selects the pod",
      resources: [cnp("pass", "Admin", 1, "Pass"), cnp("baseline-deny", "Baseline", 1, "Deny")],
      expected: "deny by ClusterNetworkPolicy/baseline-deny in baselineadminnetworkpolicy",
    },
    {
      name: "Baseline CNP at priority 999 comes before the BANP (order 1000)",
      resources: [cnp("baseline-deny", "Baseline", 999, "Deny"), banpAllow],
      expected: "deny by ClusterNetworkPolicy/baseline-deny in baselineadminnetworkpolicy",
    },
    {
      name: "a Calico policy at order 500 in the baseline tier comes before a Baseline CNP at 600",
      resources: [
        cnp("baseline-deny", "Baseline", 600, "Deny"),
        policy("GlobalNetworkPolicy", "baselineadminnetworkpolicy.allow", {
          tier: "baselineadminnetworkpolicy",
          order: 500,
          selector: "all()",
          ingress: [{ action: "Allow" }],
        }),
      ],
      // Calico's tier prefix is dropped from the name.
      expected: "allow by GlobalNetworkPolicy/allow in baselineadminnetworkpolicy",
    },
    {
      name: "a named port no peer pod declares matches nothing (Accept opens nothing)",
      resources: [
        {
          ...cnp("accept", "Admin", 1, "Accept"),
          spec: {
            ...(cnp("accept", "Admin", 1, "Accept").spec as object),
            ingress: [
              {
                action: "Accept",
                from: [{ namespaces: {} }],
                protocols: [{ destinationNamedPort: "metrics" }],
              },
            ],
          },
        },
        policy("GlobalNetworkPolicy", "deny-all", { selector: "all()", types: ["Ingress"] }),
      ],
      expected: "deny (tier-default)",
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(decided(c.resources), c.expected));
  }
});
