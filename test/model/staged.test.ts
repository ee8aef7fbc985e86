// The three staged kinds Calico users bring: namespaced, global and Kubernetes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectIssues, expectValid } from "./helpers.ts";

describe("StagedGlobalNetworkPolicy and StagedKubernetesNetworkPolicy", () => {
  it("a staged global policy carries a global policy's fields", () => {
    const r = expectValid({
      apiVersion: "projectcalico.org/v3",
      kind: "StagedGlobalNetworkPolicy",
      metadata: { name: "quarantine" },
      spec: { namespaceSelector: "env == 'dev'", egress: [{ action: "Deny" }] },
    });
    assert.equal(r.apiVersion, "microseg.io/v1");
    assert.equal(r.kind, "StagedGlobalNetworkPolicy");
  });

  it("a staged Delete names the policy and nothing else", () => {
    expectIssues(
      {
        apiVersion: "microseg.io/v1",
        kind: "StagedGlobalNetworkPolicy",
        metadata: { name: "quarantine" },
        spec: { stagedAction: "Delete", selector: "all()" },
      },
      ["spec.selector: must be unset when stagedAction is Delete"],
    );
  });

  it("a staged global policy is cluster-scoped", () => {
    expectIssues(
      {
        apiVersion: "microseg.io/v1",
        kind: "StagedGlobalNetworkPolicy",
        metadata: { name: "q", namespace: "prod" },
        spec: {},
      },
      ["metadata.namespace: must not be set: StagedGlobalNetworkPolicy is cluster-scoped"],
    );
  });

  it("a staged Kubernetes policy has the upstream spec plus stagedAction", () => {
    const r = expectValid({
      apiVersion: "projectcalico.org/v3",
      kind: "StagedKubernetesNetworkPolicy",
      metadata: { name: "db", namespace: "prod" },
      spec: {
        stagedAction: "Set",
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ ports: [{ port: 5432 }] }],
      },
    });
    assert.equal(r.kind, "StagedKubernetesNetworkPolicy");
    assert.equal(r.metadata.namespace, "prod");
    expectIssues(
      {
        apiVersion: "microseg.io/v1",
        kind: "StagedKubernetesNetworkPolicy",
        metadata: { name: "db", namespace: "prod" },
        spec: { ingress: [{ ports: [{ port: 0 }] }] },
      },
      ["spec.ingress[0].ports[0].port: must be 1-65535 or a port name"],
    );
  });
});
