// microseg.io/v1 (Calico v3) policy semantics: every rule field and action, tiers, Pass,
// network sets, non-workload peers and staged policies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Resource } from "../corpus/corpus.ts";
import { judge, namespace, pod, policy } from "./fixtures.ts";

const base: Resource[] = [
  namespace("prod", { env: "prod" }),
  namespace("dev", { env: "dev" }),
  pod(
    "prod/web",
    "198.18.0.1",
    { app: "web", tier: "front" },
    { ports: [{ name: "http", port: 8080 }], serviceAccount: "web-sa" },
  ),
  pod(
    "prod/db",
    "198.18.0.2",
    { app: "db" },
    {
      ports: [
        { name: "pg", port: 5432 },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
    },
  ),
  pod("prod/api", "198.18.0.3", { app: "api" }, { serviceAccount: "api-sa" }),
  pod("dev/web", "198.18.1.1", { app: "web" }),
];

/** An ingress policy on prod/db with the given rules. */
function dbIngress(...ingress: Array<Record<string, unknown>>): Resource {
  return policy("NetworkPolicy", "prod/db-in", { selector: "app == 'db'", ingress });
}

/** A flow and the verdict it must get; by default prod/web -> prod/db 5432/TCP. */
interface Case {
  name: string;
  policies: Resource[];
  from?: string;
  to?: string;
  port?: number;
  protocol?: "TCP" | "UDP" | "ICMP" | "SCTP";
  icmp?: { type: number; code?: number };
  extra?: Resource[];
  allowed: boolean;
}

const cases: Case[] = [
  // actions
  {
    name: "Allow rule allows",
    policies: [dbIngress({ action: "Allow" })],
    allowed: true,
  },
  {
    name: "Deny rule denies",
    policies: [dbIngress({ action: "Deny" })],
    allowed: false,
  },
  {
    name: "Log continues to the next rule",
    policies: [dbIngress({ action: "Log" }, { action: "Allow" })],
    allowed: true,
  },
  {
    name: "Log alone ends in the tier default deny",
    policies: [dbIngress({ action: "Log" })],
    allowed: false,
  },
  {
    name: "no matching rule: tier default deny",
    policies: [dbIngress({ action: "Allow", source: { selector: "app == 'api'" } })],
    allowed: false,
  },
  // protocol
  {
    name: "protocol matches",
    policies: [dbIngress({ action: "Allow", protocol: "TCP" })],
    allowed: true,
  },
  {
    name: "protocol mismatch",
    policies: [dbIngress({ action: "Allow", protocol: "UDP" })],
    allowed: false,
  },
  {
    name: "notProtocol excludes",
    policies: [dbIngress({ action: "Allow", notProtocol: "TCP" })],
    allowed: false,
  },
  {
    name: "notProtocol lets others",
    policies: [dbIngress({ action: "Allow", notProtocol: "UDP" })],
    allowed: true,
  },
  {
    name: "protocol by number: 6 is TCP",
    policies: [dbIngress({ action: "Allow", protocol: 6 })],
    allowed: true,
  },
  {
    name: "protocol by number: 17 is not TCP",
    policies: [dbIngress({ action: "Allow", protocol: 17 })],
    allowed: false,
  },
  // icmp
  {
    name: "icmp type matches",
    policies: [dbIngress({ action: "Allow", protocol: "ICMP", icmp: { type: 8 } })],
    port: 0,
    protocol: "ICMP",
    icmp: { type: 8, code: 0 },
    allowed: true,
  },
  {
    name: "icmp type differs",
    policies: [dbIngress({ action: "Allow", protocol: "ICMP", icmp: { type: 8 } })],
    port: 0,
    protocol: "ICMP",
    icmp: { type: 13 },
    allowed: false,
  },
  {
    name: "icmp code differs",
    policies: [dbIngress({ action: "Allow", protocol: "ICMP", icmp: { type: 3, code: 1 } })],
    port: 0,
    protocol: "ICMP",
    icmp: { type: 3, code: 4 },
    allowed: false,
  },
  {
    name: "notICMP excludes the type",
    policies: [dbIngress({ action: "Allow", protocol: "ICMP", notICMP: { type: 8 } })],
    port: 0,
    protocol: "ICMP",
    icmp: { type: 8 },
    allowed: false,
  },
  // selectors and namespaces
  {
    name: "source selector in the policy namespace",
    policies: [dbIngress({ action: "Allow", source: { selector: "app == 'web'" } })],
    allowed: true,
  },
  {
    name: "source selector does not reach other namespaces",
    policies: [dbIngress({ action: "Allow", source: { selector: "app == 'web'" } })],
    from: "dev/web",
    allowed: false,
  },
  {
    name: "namespaceSelector widens the selector",
    policies: [
      dbIngress({
        action: "Allow",
        source: { selector: "app == 'web'", namespaceSelector: "env == 'dev'" },
      }),
    ],
    from: "dev/web",
    allowed: true,
  },
  {
    name: "namespaceSelector alone: whole namespaces",
    policies: [dbIngress({ action: "Allow", source: { namespaceSelector: "env == 'dev'" } })],
    from: "dev/web",
    allowed: true,
  },
  {
    name: "namespaceSelector all(): every namespace",
    policies: [
      dbIngress({
        action: "Allow",
        source: { selector: "app == 'web'", namespaceSelector: "all()" },
      }),
    ],
    from: "dev/web",
    allowed: true,
  },
  {
    name: "namespaceSelector global(): not namespaced workloads",
    policies: [dbIngress({ action: "Allow", source: { namespaceSelector: "global()" } })],
    allowed: false,
  },
  {
    name: "notSelector excludes",
    policies: [dbIngress({ action: "Allow", source: { notSelector: "app == 'web'" } })],
    allowed: false,
  },
  {
    name: "notSelector lets others",
    policies: [dbIngress({ action: "Allow", source: { notSelector: "app == 'web'" } })],
    from: "prod/api",
    allowed: true,
  },
  {
    name: "destination selector",
    policies: [
      policy("NetworkPolicy", "prod/web-out", {
        selector: "app == 'web'",
        egress: [{ action: "Allow", destination: { selector: "app == 'db'" } }],
      }),
    ],
    allowed: true,
  },
  {
    name: "destination selector mismatch",
    policies: [
      policy("NetworkPolicy", "prod/web-out", {
        selector: "app == 'web'",
        egress: [{ action: "Allow", destination: { selector: "app == 'db'" } }],
      }),
    ],
    to: "prod/api",
    port: 80,
    allowed: false,
  },
  // nets
  {
    name: "source nets contain the address",
    policies: [dbIngress({ action: "Allow", source: { nets: ["198.18.0.0/24"] } })],
    allowed: true,
  },
  {
    name: "source nets miss the address",
    policies: [dbIngress({ action: "Allow", source: { nets: ["198.18.1.0/24"] } })],
    allowed: false,
  },
  {
    name: "notNets exclude",
    policies: [dbIngress({ action: "Allow", source: { notNets: ["198.18.0.1/32"] } })],
    allowed: false,
  },
  {
    name: "notNets let others",
    policies: [dbIngress({ action: "Allow", source: { notNets: ["198.18.0.1/32"] } })],
    from: "prod/api",
    allowed: true,
  },
  // ports
  {
    name: "port number",
    policies: [dbIngress({ action: "Allow", protocol: "TCP", destination: { ports: [5432] } })],
    allowed: true,
  },
  {
    name: "port number mismatch",
    policies: [dbIngress({ action: "Allow", protocol: "TCP", destination: { ports: [5433] } })],
    allowed: false,
  },
  {
    name: "port range",
    policies: [
      dbIngress({ action: "Allow", protocol: "TCP", destination: { ports: ["5000:6000"] } }),
    ],
    allowed: true,
  },
  {
    name: "port range edge",
    policies: [
      dbIngress({ action: "Allow", protocol: "TCP", destination: { ports: ["5000:5431"] } }),
    ],
    allowed: false,
  },
  {
    name: "named port on the destination",
    policies: [dbIngress({ action: "Allow", protocol: "TCP", destination: { ports: ["pg"] } })],
    allowed: true,
  },
  {
    name: "named port needs the matching protocol",
    policies: [dbIngress({ action: "Allow", protocol: "UDP", destination: { ports: ["pg"] } })],
    protocol: "UDP",
    allowed: false,
  },
  {
    name: "named port of another number",
    policies: [dbIngress({ action: "Allow", protocol: "UDP", destination: { ports: ["dns"] } })],
    port: 54,
    protocol: "UDP",
    allowed: false,
  },
  {
    name: "notPorts exclude",
    policies: [
      dbIngress({ action: "Allow", protocol: "TCP", destination: { notPorts: ["5400:5500"] } }),
    ],
    allowed: false,
  },
  {
    name: "notPorts let others",
    policies: [dbIngress({ action: "Allow", protocol: "TCP", destination: { notPorts: [22] } })],
    allowed: true,
  },
  {
    name: "source ports (named on the source)",
    policies: [dbIngress({ action: "Allow", protocol: "TCP", source: { ports: ["http"] } })],
    allowed: false,
  },
  // service accounts
  {
    name: "serviceAccounts names",
    policies: [dbIngress({ action: "Allow", source: { serviceAccounts: { names: ["web-sa"] } } })],
    allowed: true,
  },
  {
    name: "serviceAccounts names mismatch",
    policies: [dbIngress({ action: "Allow", source: { serviceAccounts: { names: ["web-sa"] } } })],
    from: "prod/api",
    allowed: false,
  },
  {
    name: "serviceAccounts selector by name",
    policies: [
      dbIngress({
        action: "Allow",
        source: { serviceAccounts: { selector: "projectcalico.org/name == 'api-sa'" } },
      }),
    ],
    from: "prod/api",
    allowed: true,
  },
  // ipVersion
  {
    name: "ipVersion 6 does not match IPv4",
    policies: [dbIngress({ action: "Allow", ipVersion: 6 })],
    allowed: false,
  },
  {
    name: "ipVersion 4 matches IPv4",
    policies: [dbIngress({ action: "Allow", ipVersion: 4 })],
    allowed: true,
  },
  // types
  {
    name: "types default to Ingress only: egress stays open",
    policies: [
      policy("NetworkPolicy", "prod/web-in", {
        selector: "app == 'web'",
        ingress: [{ action: "Deny" }],
      }),
    ],
    allowed: true,
  },
  {
    name: "egress-only rules default types to Egress",
    policies: [
      policy("NetworkPolicy", "prod/web-out", {
        selector: "app == 'web'",
        egress: [{ action: "Deny" }],
      }),
    ],
    allowed: false,
  },
  {
    name: "explicit types without rules deny",
    policies: [
      policy("NetworkPolicy", "prod/db-in", { selector: "app == 'db'", types: ["Ingress"] }),
    ],
    allowed: false,
  },
  // global policies
  {
    name: "GlobalNetworkPolicy selects across namespaces",
    policies: [
      policy("GlobalNetworkPolicy", "deny-web", {
        selector: "app == 'web'",
        egress: [{ action: "Deny" }],
      }),
    ],
    from: "dev/web",
    allowed: false,
  },
  {
    name: "GlobalNetworkPolicy namespaceSelector narrows subjects",
    policies: [
      policy("GlobalNetworkPolicy", "deny-dev", {
        namespaceSelector: "env == 'prod'",
        selector: "all()",
        egress: [{ action: "Deny" }],
      }),
    ],
    from: "dev/web",
    allowed: true,
  },
  {
    name: "GlobalNetworkPolicy rule selector spans namespaces",
    policies: [
      policy("GlobalNetworkPolicy", "db-in", {
        selector: "app == 'db'",
        ingress: [{ action: "Allow", source: { selector: "app == 'web'" } }],
      }),
    ],
    from: "dev/web",
    allowed: true,
  },
];

describe("Calico rule fields and actions", () => {
  for (const c of cases) {
    it(c.name, () => {
      const { from = "prod/web", to = "prod/db", port = 5432 } = c;
      const v = judge(
        [...base, ...(c.extra ?? []), ...c.policies],
        from,
        to,
        port,
        c.protocol ?? "TCP",
        c.icmp ? { icmp: c.icmp } : {},
      );
      assert.equal(
        v.allowed,
        c.allowed,
        `${from} -> ${to} ${port}/${c.protocol ?? "TCP"}: expected ${c.allowed ? "allow" : "deny"}, got ${v.allowed ? "allow" : "deny"}`,
      );
    });
  }
});

const tier = (name: string, order: number, defaultAction?: "Deny" | "Pass"): Resource => ({
  apiVersion: "microseg.io/v1",
  kind: "Tier",
  metadata: { name },
  spec: { order, ...(defaultAction ? { defaultAction } : {}) },
});

describe("tiers", () => {
  it("an earlier tier's Allow wins over a later Deny", () => {
    const v = judge(
      [
        ...base,
        tier("security", 100),
        policy("NetworkPolicy", "prod/allow", {
          tier: "security",
          selector: "app == 'db'",
          ingress: [{ action: "Allow" }],
        }),
        dbIngress({ action: "Deny" }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, true);
    assert.deepEqual(v.ingress.decision, {
      kind: "rule",
      tier: "security",
      policy: { kind: "NetworkPolicy", namespace: "prod", name: "allow" },
      ruleIndex: 0,
      action: "Allow",
    });
  });
  it("Pass skips to the next tier", () => {
    const v = judge(
      [
        ...base,
        tier("security", 100),
        policy("NetworkPolicy", "prod/pass", {
          tier: "security",
          selector: "app == 'db'",
          ingress: [{ action: "Pass" }, { action: "Allow" }],
        }),
        dbIngress({ action: "Deny" }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, false);
    assert.deepEqual(v.ingress.passed, ["security"]);
    assert.equal(v.ingress.decision.kind, "rule");
  });
  it("a tier with defaultAction Pass hands over when nothing matches", () => {
    const v = judge(
      [
        ...base,
        tier("security", 100, "Pass"),
        policy("NetworkPolicy", "prod/other", {
          tier: "security",
          selector: "app == 'db'",
          ingress: [{ action: "Deny", source: { selector: "app == 'api'" } }],
        }),
        dbIngress({ action: "Allow" }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, true);
    assert.deepEqual(v.ingress.passed, ["security"]);
  });
  it("a tier's default Deny ends evaluation", () => {
    const v = judge(
      [
        ...base,
        tier("security", 100),
        policy("NetworkPolicy", "prod/other", {
          tier: "security",
          selector: "app == 'db'",
          ingress: [{ action: "Deny", source: { selector: "app == 'api'" } }],
        }),
        dbIngress({ action: "Allow" }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, false);
    assert.deepEqual(v.ingress.decision, {
      kind: "tier-default",
      tier: "security",
      action: "Deny",
    });
  });
  it("tiers that select nothing are skipped", () => {
    const v = judge(
      [
        ...base,
        tier("security", 100),
        policy("NetworkPolicy", "prod/x", {
          tier: "security",
          selector: "app == 'none'",
          ingress: [{ action: "Deny" }],
        }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.deepEqual(v.ingress.decision, { kind: "no-policy" });
  });
  it("passing every tier leaves the endpoint open", () => {
    const v = judge(
      [
        ...base,
        tier("security", 100),
        policy("NetworkPolicy", "prod/p", {
          tier: "security",
          selector: "app == 'db'",
          ingress: [{ action: "Pass" }],
        }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, true);
    assert.deepEqual(v.ingress.decision, { kind: "passed-all", tiers: ["security"] });
  });
  it("policies in a tier run by order, then name", () => {
    const v = judge(
      [
        ...base,
        dbIngress({ action: "Deny" }),
        policy("NetworkPolicy", "prod/z-first", {
          order: 1,
          selector: "app == 'db'",
          ingress: [{ action: "Allow" }],
        }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, true);
    const w = judge(
      [
        ...base,
        policy("NetworkPolicy", "prod/b", {
          order: 5,
          selector: "app == 'db'",
          ingress: [{ action: "Allow" }],
        }),
        policy("NetworkPolicy", "prod/a", {
          order: 5,
          selector: "app == 'db'",
          ingress: [{ action: "Deny" }],
        }),
      ],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(w.allowed, false);
  });
  it("Log rules are reported and evaluation continues", () => {
    const v = judge(
      [...base, dbIngress({ action: "Log", protocol: "TCP" }, { action: "Deny" })],
      "prod/web",
      "prod/db",
      5432,
    );
    assert.equal(v.allowed, false);
    assert.equal(v.ingress.logged.length, 1);
    assert.equal(v.ingress.logged[0]!.index, 0);
  });
});

const networkSet = (id: string, nets: string[], labels: Record<string, string>): Resource => {
  const parts = id.split("/");
  return {
    apiVersion: "microseg.io/v1",
    kind: parts.length === 2 ? "NetworkSet" : "GlobalNetworkSet",
    metadata:
      parts.length === 2 ? { name: parts[1]!, namespace: parts[0]!, labels } : { name: id, labels },
    spec: { nets },
  };
};

describe("network sets and non-workload peers", () => {
  const egress = (destination: Record<string, unknown>, action = "Allow") =>
    policy("NetworkPolicy", "prod/web-out", {
      selector: "app == 'web'",
      egress: [{ action, destination }],
    });
  it("a NetworkSet is selected by labels in its namespace", () => {
    const r = [
      ...base,
      networkSet("prod/partners", ["203.0.113.0/24"], { kind: "partner" }),
      egress({ selector: "kind == 'partner'" }),
    ];
    assert.equal(judge(r, "prod/web", "203.0.113.9", 443).allowed, true);
    assert.equal(judge(r, "prod/web", "192.0.2.9", 443).allowed, false);
  });
  it("a NetworkSet in another namespace is not selected without namespaceSelector", () => {
    const r = [
      ...base,
      networkSet("dev/partners", ["203.0.113.0/24"], { kind: "partner" }),
      egress({ selector: "kind == 'partner'" }),
    ];
    assert.equal(judge(r, "prod/web", "203.0.113.9", 443).allowed, false);
  });
  it("a GlobalNetworkSet is selected with namespaceSelector global()", () => {
    const r = [
      ...base,
      networkSet("internet", ["0.0.0.0/0"], { zone: "internet" }),
      egress({ selector: "zone == 'internet'", namespaceSelector: "global()" }),
    ];
    assert.equal(judge(r, "prod/web", "192.0.2.9", 443).allowed, true);
  });
  it("a GlobalNetworkSet as a Deny peer in a global policy", () => {
    const r = [
      ...base,
      networkSet("blocked", ["192.0.2.0/24"], { list: "blocked" }),
      policy("GlobalNetworkPolicy", "block", {
        order: 1,
        selector: "all()",
        egress: [
          { action: "Deny", destination: { selector: "list == 'blocked'" } },
          { action: "Allow" },
        ],
      }),
    ];
    assert.equal(judge(r, "prod/web", "192.0.2.9", 443).allowed, false);
    assert.equal(judge(r, "prod/web", "198.51.100.1", 443).allowed, true);
  });
  it("traffic from the internet is judged by nets at the destination", () => {
    const r = [...base, dbIngress({ action: "Allow", source: { nets: ["203.0.113.0/24"] } })];
    const v = judge(r, "203.0.113.5", "prod/db", 5432);
    assert.equal(v.allowed, true);
    assert.equal(v.egress.decision.kind, "not-a-workload");
    assert.equal(judge(r, "198.51.100.5", "prod/db", 5432).allowed, false);
  });
  it("a rule without selectors or nets matches any address", () => {
    assert.equal(
      judge([...base, dbIngress({ action: "Allow" })], "198.51.100.5", "prod/db", 5432).allowed,
      true,
    );
  });
});

describe("staged policies", () => {
  it("a StagedGlobalNetworkPolicy previews a global policy", () => {
    const r = [
      ...base,
      policy("StagedGlobalNetworkPolicy", "quarantine-dev", {
        namespaceSelector: "env == 'dev'",
        egress: [{ action: "Deny" }],
      }),
    ];
    assert.equal(judge(r, "dev/web", "prod/db", 5432).allowed, true);
    const staged = judge(r, "dev/web", "prod/db", 5432, "TCP", { staged: true });
    assert.equal(staged.allowed, false);
    assert.deepEqual(staged.egress.decision, {
      kind: "rule",
      tier: "default",
      policy: { kind: "StagedGlobalNetworkPolicy", name: "quarantine-dev" },
      ruleIndex: 0,
      action: "Deny",
    });
  });
  it("a StagedKubernetesNetworkPolicy with stagedAction Delete previews removing the NetworkPolicy", () => {
    const k8s: Resource = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "db-deny", namespace: "prod" },
      spec: { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] },
    };
    const r = [
      ...base,
      k8s,
      policy("StagedKubernetesNetworkPolicy", "prod/db-deny", { stagedAction: "Delete" }),
    ];
    assert.equal(judge(r, "prod/web", "prod/db", 5432).allowed, false);
    assert.equal(judge(r, "prod/web", "prod/db", 5432, "TCP", { staged: true }).allowed, true);
  });
  it("a StagedKubernetesNetworkPolicy Set replaces the NetworkPolicy of the same name", () => {
    const k8s: Resource = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "db-in", namespace: "prod" },
      spec: { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] },
    };
    const allowWeb = {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
    };
    const r = [...base, k8s, policy("StagedKubernetesNetworkPolicy", "prod/db-in", allowWeb)];
    assert.equal(judge(r, "prod/web", "prod/db", 5432).allowed, false);
    assert.equal(judge(r, "prod/web", "prod/db", 5432, "TCP", { staged: true }).allowed, true);
    assert.equal(judge(r, "prod/api", "prod/db", 5432, "TCP", { staged: true }).allowed, false);
  });
  it("a staged policy is reported, never enforced", () => {
    const r = [
      ...base,
      policy("StagedNetworkPolicy", "prod/db-lock", {
        selector: "app == 'db'",
        ingress: [{ action: "Deny" }],
      }),
    ];
    assert.equal(judge(r, "prod/web", "prod/db", 5432).allowed, true);
    const staged = judge(r, "prod/web", "prod/db", 5432, "TCP", { staged: true });
    assert.equal(staged.allowed, false);
    assert.equal(staged.ingress.decision.kind, "rule");
  });
  it("stagedAction Set replaces the enforced policy of the same name", () => {
    const r = [
      ...base,
      policy("NetworkPolicy", "prod/db-in", {
        selector: "app == 'db'",
        ingress: [{ action: "Deny" }],
      }),
      policy("StagedNetworkPolicy", "prod/db-in", {
        selector: "app == 'db'",
        ingress: [{ action: "Allow" }],
      }),
    ];
    assert.equal(judge(r, "prod/web", "prod/db", 5432).allowed, false);
    assert.equal(judge(r, "prod/web", "prod/db", 5432, "TCP", { staged: true }).allowed, true);
  });
  it("stagedAction Delete previews removing the policy", () => {
    const r = [
      ...base,
      policy("NetworkPolicy", "prod/db-in", {
        selector: "app == 'db'",
        ingress: [{ action: "Deny" }],
      }),
      policy("StagedNetworkPolicy", "prod/db-in", { stagedAction: "Delete" }),
    ];
    assert.equal(judge(r, "prod/web", "prod/db", 5432).allowed, false);
    assert.equal(judge(r, "prod/web", "prod/db", 5432, "TCP", { staged: true }).allowed, true);
  });
});

describe("self traffic", () => {
  it("a workload always reaches itself", () => {
    const v = judge([...base, dbIngress({ action: "Deny" })], "prod/db", "prod/db", 5432);
    assert.equal(v.allowed, true);
    assert.equal(v.ingress.decision.kind, "self");
  });
});
