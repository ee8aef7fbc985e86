// v1 Namespace and Pod (loose, real dumps load) and networking.k8s.io/v1 NetworkPolicy (strict,
// the API server's rules, defaults left unapplied).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseManifests } from "../../src/model/index.ts";
import { expectIssues, expectValid, type InvalidCase, variant } from "./helpers.ts";

const DNS_LABEL_RULE =
  "must be a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit";
const DNS_SUBDOMAIN_RULE =
  "must be a DNS subdomain: at most 253 lowercase letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit";

describe("Pod", () => {
  test("a kubectl dump loads with every server-written field", () => {
    const text = readFileSync(new URL("fixtures/pod-dump.yaml", import.meta.url), "utf8");
    const result = parseManifests(text, "pod-dump.yaml");
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const [pod] = result.resources;
    assert.equal(pod?.kind, "Pod");
    if (pod?.kind !== "Pod") return;
    assert.equal(pod.metadata.namespace, "shop");
    assert.equal(pod.spec.nodeName, "node-2");
    assert.equal(pod.spec.serviceAccountName, "web");
    assert.deepEqual(
      pod.status?.podIPs?.map((p) => p.ip),
      ["198.18.2.14", "fd00::2:14"],
    );
    assert.deepEqual(pod.spec.containers[0]?.ports?.[1], {
      containerPort: 9090,
      name: "metrics",
      protocol: "TCP",
    });
    // Fields this code never reads pass through untouched.
    assert.equal((pod.spec as Record<string, unknown>).dnsPolicy, "ClusterFirst");
  });

  test("a minimal pod gets the default namespace, no containers and TCP ports", () => {
    const pod = expectValid({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "a" },
    });
    assert.equal(pod.metadata.namespace, "default");
    if (pod.kind !== "Pod") return;
    assert.deepEqual(pod.spec.containers, []);
    const withPort = expectValid({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "a" },
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80 }] }] },
    });
    assert.equal(
      withPort.kind === "Pod" && withPort.spec.containers[0]?.ports?.[0]?.protocol,
      "TCP",
    );
  });

  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "shop", labels: { app: "web" } },
    spec: { containers: [{ name: "web", ports: [{ name: "http", containerPort: 8080 }] }] },
    status: { podIP: "198.18.0.5", podIPs: [{ ip: "198.18.0.5" }], phase: "Running" },
  };
  const cases: InvalidCase[] = [
    {
      name: "missing name",
      input: variant(pod, (p) => delete p.metadata.name),
      issues: ["metadata.name: required"],
    },
    {
      name: "name with capitals",
      input: variant(pod, (p) => (p.metadata.name = "Web")),
      issues: [`metadata.name: ${DNS_SUBDOMAIN_RULE}`],
    },
    {
      name: "namespace with a dot",
      input: variant(pod, (p) => (p.metadata.namespace = "a.b")),
      issues: [`metadata.namespace: ${DNS_LABEL_RULE}`],
    },
    {
      name: "label value with a space",
      input: variant(pod, (p) => (p.metadata.labels.app = "my app")),
      issues: [
        "metadata.labels.app: must be a label value: empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      ],
    },
    {
      name: "label value not a string",
      input: variant(pod, (p) => (p.metadata.labels.version = 2)),
      issues: ["metadata.labels.version: expected string, got number"],
    },
    {
      name: "container port 0",
      input: variant(pod, (p) => (p.spec.containers[0].ports[0].containerPort = 0)),
      issues: ["spec.containers[0].ports[0].containerPort: must be 1-65535"],
    },
    {
      name: "port name too long",
      input: variant(pod, (p) => (p.spec.containers[0].ports[0].name = "http-management-port")),
      issues: [
        "spec.containers[0].ports[0].name: must be a port name: at most 15 lowercase letters, digits or '-', with at least one letter, no leading, trailing or double '-'",
      ],
    },
    {
      name: "port protocol",
      input: variant(pod, (p) => (p.spec.containers[0].ports[0].protocol = "ICMP")),
      issues: ["spec.containers[0].ports[0].protocol: must be one of TCP, UDP, SCTP"],
    },
    {
      name: "bad podIP and podIPs",
      input: variant(pod, (p) => {
        p.status.podIP = "198.18.0.256";
        p.status.podIPs = [{ ip: "010.0.0.1" }];
      }),
      issues: ["status.podIP: must be an IP address", "status.podIPs[0].ip: must be an IP address"],
    },
    {
      name: "unknown phase",
      input: variant(pod, (p) => (p.status.phase = "Sleeping")),
      issues: ["status.phase: must be one of Pending, Running, Succeeded, Failed, Unknown"],
    },
    {
      name: "hostNetwork not a boolean",
      input: variant(pod, (p) => (p.spec.hostNetwork = "yes")),
      issues: ["spec.hostNetwork: expected boolean, got string"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});

describe("Namespace", () => {
  test("carries kubernetes.io/metadata.name, as the API server sets it", () => {
    const ns = expectValid({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop", labels: { team: "payments" } },
      status: { phase: "Active" },
    });
    assert.deepEqual(ns.metadata.labels, {
      team: "payments",
      "kubernetes.io/metadata.name": "shop",
    });
    assert.equal(ns.metadata.namespace, undefined);
  });

  test("invalid: name is a DNS label", () => {
    expectIssues({ apiVersion: "v1", kind: "Namespace", metadata: { name: "a.b" } }, [
      `metadata.name: ${DNS_LABEL_RULE}`,
    ]);
  });

  test("invalid: namespaces are not in a namespace", () => {
    expectIssues({ apiVersion: "v1", kind: "Namespace", metadata: { name: "a", namespace: "b" } }, [
      "metadata.namespace: must not be set: Namespace is cluster-scoped",
    ]);
  });
});

describe("networking.k8s.io/v1 NetworkPolicy", () => {
  const policy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "prod" },
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: "client" } } },
            { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
          ],
          ports: [{ port: 80 }, { protocol: "UDP", port: 5000, endPort: 5100 }, { port: "http" }],
        },
      ],
      egress: [{ to: [{ namespaceSelector: {} }] }],
    },
  };

  test("keeps defaults unapplied: no policyTypes, no protocol", () => {
    const np = expectValid(policy);
    assert.equal(np.kind === "NetworkPolicy" && np.apiVersion === "networking.k8s.io/v1", true);
    if (np.apiVersion !== "networking.k8s.io/v1") return;
    assert.equal(np.spec.policyTypes, undefined);
    assert.deepEqual(np.spec.ingress?.[0]?.ports?.[0], { port: 80 });
  });

  test("a missing podSelector is the empty selector", () => {
    const np = expectValid(variant(policy, (p) => delete p.spec.podSelector));
    assert.deepEqual(np.apiVersion === "networking.k8s.io/v1" && np.spec.podSelector, {});
  });

  const cases: InvalidCase[] = [
    {
      name: "port out of range",
      input: variant(policy, (p) => (p.spec.ingress[0].ports[0].port = 70000)),
      issues: ["spec.ingress[0].ports[0].port: must be 1-65535 or a port name"],
    },
    {
      name: "port 0",
      input: variant(policy, (p) => (p.spec.ingress[0].ports[0].port = 0)),
      issues: ["spec.ingress[0].ports[0].port: must be 1-65535 or a port name"],
    },
    {
      name: "numeric string port",
      input: variant(policy, (p) => (p.spec.ingress[0].ports[0].port = "80")),
      issues: ["spec.ingress[0].ports[0].port: must be 1-65535 or a port name"],
    },
    {
      name: "endPort without port",
      input: variant(policy, (p) => delete p.spec.ingress[0].ports[1].port),
      issues: ["spec.ingress[0].ports[1].endPort: may not be set without port"],
    },
    {
      name: "endPort with a named port",
      input: variant(policy, (p) => (p.spec.ingress[0].ports[2].endPort = 90)),
      issues: ["spec.ingress[0].ports[2].endPort: may not be set when port is a name"],
    },
    {
      name: "endPort below port",
      input: variant(policy, (p) => (p.spec.ingress[0].ports[1].endPort = 4000)),
      issues: ["spec.ingress[0].ports[1].endPort: must be greater than or equal to port (5000)"],
    },
    {
      name: "protocol",
      input: variant(policy, (p) => (p.spec.ingress[0].ports[0].protocol = "tcp")),
      issues: ["spec.ingress[0].ports[0].protocol: must be one of TCP, UDP, SCTP"],
    },
    {
      name: "bad CIDR",
      input: variant(policy, (p) => (p.spec.ingress[0].from[1].ipBlock.cidr = "10.0.0.0/33")),
      issues: [
        "spec.ingress[0].from[1].ipBlock.cidr: must be a CIDR such as 10.0.0.0/16 or fd00::/64",
      ],
    },
    {
      name: "address without prefix",
      input: variant(policy, (p) => (p.spec.ingress[0].from[1].ipBlock.cidr = "10.0.0.1")),
      issues: [
        "spec.ingress[0].from[1].ipBlock.cidr: must be a CIDR such as 10.0.0.0/16 or fd00::/64",
      ],
    },
    {
      name: "except outside cidr, equal to it, other family",
      input: variant(
        policy,
        (p) =>
          (p.spec.ingress[0].from[1].ipBlock.except = ["11.0.0.0/16", "10.0.0.0/8", "fd00::/64"]),
      ),
      issues: [
        "spec.ingress[0].from[1].ipBlock.except[0]: must be a strict subset of cidr 10.0.0.0/8",
        "spec.ingress[0].from[1].ipBlock.except[1]: must be a strict subset of cidr 10.0.0.0/8",
        "spec.ingress[0].from[1].ipBlock.except[2]: must be a strict subset of cidr 10.0.0.0/8",
      ],
    },
    {
      name: "empty peer",
      input: variant(policy, (p) => (p.spec.egress[0].to[0] = {})),
      issues: ["spec.egress[0].to[0]: must set podSelector, namespaceSelector or ipBlock"],
    },
    {
      name: "ipBlock with a selector",
      input: variant(policy, (p) => (p.spec.ingress[0].from[1].podSelector = {})),
      issues: [
        "spec.ingress[0].from[1]: ipBlock may not be combined with podSelector or namespaceSelector",
      ],
    },
    {
      name: "policyTypes: unknown and repeated",
      input: variant(policy, (p) => (p.spec.policyTypes = ["Ingress", "Egress", "Ingress"])),
      issues: ['spec.policyTypes[2]: duplicate value "Ingress"'],
    },
    {
      name: "policyTypes value",
      input: variant(policy, (p) => (p.spec.policyTypes = ["ingress"])),
      issues: ["spec.policyTypes[0]: must be one of Ingress, Egress"],
    },
    {
      name: "unknown fields in spec, rule and peer",
      input: variant(policy, (p) => {
        p.spec.action = "Deny";
        p.spec.ingress[0].form = [];
        p.spec.egress[0].to[0].nodeSelector = {};
      }),
      issues: [
        "spec.ingress[0].form: unknown field",
        "spec.egress[0].to[0].nodeSelector: unknown field",
        "spec.action: unknown field",
      ],
    },
    {
      name: "matchExpressions In without values, Exists with values",
      input: variant(policy, (p) => {
        p.spec.podSelector = {
          matchExpressions: [
            { key: "tier", operator: "In" },
            { key: "tier", operator: "Exists", values: ["x"] },
            { key: "tier", operator: "Has" },
          ],
        };
      }),
      issues: [
        "spec.podSelector.matchExpressions[0].values: must be non-empty when operator is In",
        "spec.podSelector.matchExpressions[1].values: must be empty when operator is Exists",
        "spec.podSelector.matchExpressions[2].operator: must be one of In, NotIn, Exists, DoesNotExist",
      ],
    },
    {
      name: "label key with two slashes",
      input: variant(policy, (p) => (p.spec.podSelector.matchLabels = { "a/b/c": "x" })),
      issues: [
        "spec.podSelector.matchLabels[\"a/b/c\"]: must be a label key: an optional DNS subdomain prefix and '/', then a name",
      ],
    },
    {
      name: "missing spec",
      input: variant(policy, (p) => delete p.spec),
      issues: ["spec: required"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});
