// microseg.io/v1 policy and endpoint kinds (Calico v3 field names), and projectcalico.org/v3
// manifests loading as them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseResource } from "../../src/model/index.ts";
import { expectIssues, expectValid, type InvalidCase, variant } from "./helpers.ts";

const policy = {
  apiVersion: "microseg.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "allow-ldap", namespace: "blue" },
  spec: {
    order: 100,
    selector: 'role == "ldap-server"',
    types: ["Ingress", "Egress"],
    ingress: [
      {
        action: "Allow",
        protocol: "TCP",
        source: {
          selector: 'role == "ldap-client"',
          namespaceSelector: "global()",
          serviceAccounts: { names: ["ldap-client"] },
        },
        destination: { ports: [389, "636", "8000:8100", "ldap"] },
      },
      { action: "Allow", protocol: "ICMP", icmp: { type: 8, code: 0 } },
      { action: "Log", source: { nets: ["10.0.0.0/8", "198.18.0.1"] } },
      { action: "Deny", notProtocol: 17, source: { notNets: ["192.168.0.0/16"] } },
    ],
    egress: [{ action: "Pass", destination: { notSelector: "has(quarantine)" } }],
  },
};

describe("NetworkPolicy (microseg.io/v1)", () => {
  test("valid; tier defaults to default, namespace to default", () => {
    const np = expectValid(variant(policy, (p) => delete p.metadata.namespace));
    assert.equal(np.apiVersion, "microseg.io/v1");
    if (np.apiVersion !== "microseg.io/v1" || np.kind !== "NetworkPolicy") return;
    assert.equal(np.spec.tier, "default");
    assert.equal(np.metadata.namespace, "default");
    assert.deepEqual(np.spec.ingress?.[0]?.destination?.ports, [389, "636", "8000:8100", "ldap"]);
  });

  test("tiered names with and without the tier prefix", () => {
    for (const name of ["security.allow-ldap", "allow-ldap"]) {
      const np = expectValid(
        variant(policy, (p) => {
          p.metadata.name = name;
          p.spec.tier = "security";
        }),
      );
      assert.equal(np.metadata.name, name, "kept as written");
    }
  });

  const SELECTOR_ERROR =
    "invalid selector: expected a quoted string but found the end of the selector";
  const cases: InvalidCase[] = [
    {
      name: "unknown field in spec, rule and entity rule",
      input: variant(policy, (p) => {
        p.spec.doNotTrack = true;
        p.spec.ingress[0].http = { methods: ["GET"] };
        p.spec.ingress[0].destination.service = { name: "ldap" };
      }),
      issues: [
        "spec.ingress[0].destination.service: unknown field",
        "spec.ingress[0].http: L7 match not supported: an HTTP match narrows the rule, so ignoring it would allow more than written",
        "spec.doNotTrack: only a GlobalNetworkPolicy may set it (host endpoint policy)",
      ],
    },
    {
      name: "unknown field in metadata",
      input: variant(policy, (p) => (p.metadata.tier = "security")),
      issues: ["metadata.tier: unknown field"],
    },
    {
      name: "unknown top-level field",
      input: variant(policy, (p) => (p.status = {})),
      issues: ["status: unknown field"],
    },
    {
      name: "action",
      input: variant(policy, (p) => (p.spec.ingress[0].action = "allow")),
      issues: ["spec.ingress[0].action: must be one of Allow, Deny, Log, Pass"],
    },
    {
      name: "missing action",
      input: variant(policy, (p) => delete p.spec.egress[0].action),
      issues: ["spec.egress[0].action: required"],
    },
    {
      name: "selector syntax, with the column",
      input: variant(policy, (p) => (p.spec.selector = "role == ")),
      issues: [`spec.selector: ${SELECTOR_ERROR} at column 9`],
    },
    {
      name: "rule selector syntax",
      input: variant(policy, (p) => (p.spec.ingress[0].source.selector = "a == ")),
      issues: [`spec.ingress[0].source.selector: ${SELECTOR_ERROR} at column 6`],
    },
    {
      name: "global() outside a rule's namespaceSelector",
      input: variant(policy, (p) => (p.spec.selector = "global()")),
      issues: ["spec.selector: global() is only valid in a rule's namespaceSelector"],
    },
    {
      name: "global() combined with other terms",
      input: variant(
        policy,
        (p) => (p.spec.ingress[0].source.namespaceSelector = 'global() || a == "b"'),
      ),
      issues: [
        "spec.ingress[0].source.namespaceSelector: global() cannot be combined with other terms",
      ],
    },
    {
      name: "protocol name",
      input: variant(policy, (p) => (p.spec.ingress[0].protocol = "tcp")),
      issues: [
        "spec.ingress[0].protocol: must be TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number 1-255",
      ],
    },
    {
      name: "protocol number",
      input: variant(policy, (p) => (p.spec.ingress[3].notProtocol = 256)),
      issues: [
        "spec.ingress[3].notProtocol: must be TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number 1-255",
      ],
    },
    {
      name: "ports without a protocol",
      input: variant(policy, (p) => delete p.spec.ingress[0].protocol),
      issues: ["spec.ingress[0].destination.ports: requires protocol TCP, UDP, SCTP or UDPLite"],
    },
    {
      name: "notPorts with ICMP",
      input: variant(policy, (p) => (p.spec.ingress[1].source = { notPorts: [22] })),
      issues: ["spec.ingress[1].source.notPorts: requires protocol TCP, UDP, SCTP or UDPLite"],
    },
    {
      name: "bad ports",
      input: variant(
        policy,
        (p) => (p.spec.ingress[0].destination.ports = [0, "90:80", "1:70000", "-x", 1.5]),
      ),
      issues: [0, 1, 2, 3, 4].map(
        (i) =>
          `spec.ingress[0].destination.ports[${i}]: must be a port 1-65535, a range "min:max" or a port name`,
      ),
    },
    {
      name: "icmp without an ICMP protocol",
      input: variant(policy, (p) => (p.spec.ingress[0].notICMP = { type: 3 })),
      issues: ["spec.ingress[0].notICMP: requires protocol ICMP or ICMPv6"],
    },
    {
      name: "icmp code without type, type out of range",
      input: variant(policy, (p) => (p.spec.ingress[1].icmp = { code: 1 })),
      issues: ["spec.ingress[1].icmp.code: may not be set without type"],
    },
    {
      name: "icmp type 255",
      input: variant(policy, (p) => (p.spec.ingress[1].icmp = { type: 255 })),
      issues: ["spec.ingress[1].icmp.type: must be an integer 0-254"],
    },
    {
      name: "ICMP with ipVersion 6",
      input: variant(policy, (p) => (p.spec.ingress[1].ipVersion = 6)),
      issues: ["spec.ingress[1].protocol: ICMP does not match ipVersion 6"],
    },
    {
      name: "ipVersion value",
      input: variant(policy, (p) => (p.spec.ingress[1].ipVersion = 5)),
      issues: ["spec.ingress[1].ipVersion: must be one of 4, 6"],
    },
    {
      name: "nets of the other family than ipVersion",
      input: variant(policy, (p) => (p.spec.ingress[2].ipVersion = 6)),
      issues: [
        "spec.ingress[2].source.nets[0]: is IPv4 but ipVersion is 6",
        "spec.ingress[2].source.nets[1]: is IPv4 but ipVersion is 6",
      ],
    },
    {
      name: "IPv4 and IPv6 in one rule",
      input: variant(policy, (p) => (p.spec.ingress[2].destination = { notNets: ["fd00::/8"] })),
      issues: ["spec.ingress[2].destination.notNets[0]: mixes IPv4 and IPv6 in one rule"],
    },
    {
      name: "bad net",
      input: variant(policy, (p) => (p.spec.ingress[2].source.nets = ["10.0.0.0/40", "host"])),
      issues: [
        "spec.ingress[2].source.nets[0]: must be a CIDR such as 10.0.0.0/16 or an IP address",
        "spec.ingress[2].source.nets[1]: must be a CIDR such as 10.0.0.0/16 or an IP address",
      ],
    },
    {
      name: "types repeated",
      input: variant(policy, (p) => (p.spec.types = ["Egress", "Egress"])),
      issues: ['spec.types[1]: duplicate value "Egress"'],
    },
    {
      name: "order not a number",
      input: variant(policy, (p) => (p.spec.order = "first")),
      issues: ["spec.order: expected number, got string"],
    },
    {
      name: "name prefixed with another tier",
      input: variant(policy, (p) => (p.metadata.name = "platform.allow-ldap")),
      issues: ['metadata.name: prefix "platform." does not match tier "default"'],
    },
    {
      name: "name with two dots",
      input: variant(policy, (p) => (p.metadata.name = "a.b.c")),
      issues: [
        "metadata.name: must be a DNS label (at most 63 lowercase letters, digits or '-'), optionally prefixed with its tier as \"<tier>.<name>\"",
      ],
    },
    {
      name: "tier name with a dot",
      input: variant(policy, (p) => (p.spec.tier = "a.b")),
      issues: [
        "spec.tier: must be a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
      ],
    },
    {
      name: "missing name",
      input: variant(policy, (p) => (p.metadata = {})),
      issues: ["metadata.name: required"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});

describe("GlobalNetworkPolicy, StagedNetworkPolicy, Tier", () => {
  const global = {
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name: "security.quarantine" },
    spec: {
      tier: "security",
      selector: "has(quarantine)",
      namespaceSelector: 'env != "dev"',
      egress: [{ action: "Deny" }],
    },
  };
  const staged = {
    apiVersion: "microseg.io/v1",
    kind: "StagedNetworkPolicy",
    metadata: { name: "allow-web", namespace: "shop" },
    spec: { stagedAction: "Set", selector: 'app == "web"', ingress: [{ action: "Allow" }] },
  };
  const tier = {
    apiVersion: "microseg.io/v1",
    kind: "Tier",
    metadata: { name: "security" },
    spec: { order: 100, defaultAction: "Pass" },
  };

  test("valid", () => {
    assert.equal(expectValid(global).kind, "GlobalNetworkPolicy");
    assert.equal(expectValid(staged).kind, "StagedNetworkPolicy");
    assert.equal(expectValid(tier).kind, "Tier");
    const deletion = expectValid({ ...staged, spec: { stagedAction: "Delete", tier: "default" } });
    assert.equal(deletion.kind === "StagedNetworkPolicy" && deletion.spec.stagedAction, "Delete");
  });

  const cases: InvalidCase[] = [
    {
      name: "global policy in a namespace",
      input: variant(global, (p) => (p.metadata.namespace = "default")),
      issues: ["metadata.namespace: must not be set: GlobalNetworkPolicy is cluster-scoped"],
    },
    {
      name: "global namespaceSelector syntax",
      input: variant(global, (p) => (p.spec.namespaceSelector = "env in {")),
      issues: [
        'spec.namespaceSelector: invalid selector: expected a string or "}" but found the end of the selector at column 9',
      ],
    },
    {
      name: "namespaceSelector on a namespaced policy",
      input: variant(staged, (p) => (p.spec.namespaceSelector = "all()")),
      issues: ["spec.namespaceSelector: unknown field"],
    },
    {
      name: "stagedAction",
      input: variant(staged, (p) => (p.spec.stagedAction = "Learn")),
      issues: ["spec.stagedAction: must be one of Set, Delete"],
    },
    {
      name: "Delete with policy fields",
      input: variant(staged, (p) => (p.spec.stagedAction = "Delete")),
      issues: [
        "spec.selector: must be unset when stagedAction is Delete",
        "spec.ingress: must be unset when stagedAction is Delete",
      ],
    },
    {
      name: "tier defaultAction",
      input: variant(tier, (p) => (p.spec.defaultAction = "Allow")),
      issues: ["spec.defaultAction: must be one of Deny, Pass"],
    },
    {
      name: "tier name with a dot",
      input: variant(tier, (p) => (p.metadata.name = "sec.urity")),
      issues: [
        "metadata.name: must be a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
      ],
    },
    {
      name: "unknown tier field",
      input: variant(tier, (p) => (p.spec.default = "Deny")),
      issues: ["spec.default: unknown field"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});

describe("NetworkSet, GlobalNetworkSet, WorkloadEndpoint, HostEndpoint", () => {
  const netSet = {
    apiVersion: "microseg.io/v1",
    kind: "NetworkSet",
    metadata: { name: "partners", namespace: "shop", labels: { role: "partner" } },
    spec: { nets: ["203.0.113.0/24", "2001:db8::/32"] },
  };
  const wep = {
    apiVersion: "microseg.io/v1",
    kind: "WorkloadEndpoint",
    metadata: {
      name: "ldap-vm-eth0",
      namespace: "blue",
      labels: { color: "blue", role: "ldap-server" },
    },
    spec: {
      node: "rack1-host3",
      orchestrator: "libvirt",
      workload: "ldap-vm",
      serviceAccountName: "ldap",
      interfaceName: "vnet3",
      mac: "52:54:00:12:34:56",
      ipNetworks: ["198.18.9.10/32", "fd00::9:10"],
      ports: [{ name: "ldap", protocol: "TCP", port: 389 }],
    },
  };
  const hep = {
    apiVersion: "microseg.io/v1",
    kind: "HostEndpoint",
    metadata: { name: "node-1-eth0", labels: { role: "node" } },
    spec: { node: "node-1", interfaceName: "eth0", expectedIPs: ["172.18.0.2"] },
  };

  test("valid", () => {
    assert.equal(expectValid(netSet).kind, "NetworkSet");
    assert.equal(
      expectValid({ ...netSet, kind: "GlobalNetworkSet", metadata: { name: "x" } }).kind,
      "GlobalNetworkSet",
    );
    assert.equal(expectValid(wep).kind, "WorkloadEndpoint");
    assert.equal(expectValid(hep).kind, "HostEndpoint");
    assert.equal(
      expectValid(variant(hep, (h) => (h.spec.interfaceName = "*"))).kind,
      "HostEndpoint",
    );
  });

  const cases: InvalidCase[] = [
    {
      name: "network set CIDR",
      input: variant(netSet, (s) => s.spec.nets.push("203.0.113.0/")),
      issues: ["spec.nets[2]: must be a CIDR such as 10.0.0.0/16 or an IP address"],
    },
    {
      name: "global network set in a namespace",
      input: { ...netSet, kind: "GlobalNetworkSet" },
      issues: ["metadata.namespace: must not be set: GlobalNetworkSet is cluster-scoped"],
    },
    {
      name: "workload endpoint owning a range",
      input: variant(wep, (w) => (w.spec.ipNetworks = ["198.18.9.0/24"])),
      issues: ["spec.ipNetworks[0]: must be a single address (/32 or /128)"],
    },
    {
      name: "workload endpoint without node",
      input: variant(wep, (w) => delete w.spec.node),
      issues: ["spec.node: required"],
    },
    {
      name: "workload port without name or hostPort",
      input: variant(wep, (w) => delete w.spec.ports[0].name),
      issues: ["spec.ports[0].name: required unless hostPort is set"],
    },
    {
      name: "workload port protocol",
      input: variant(wep, (w) => (w.spec.ports[0].protocol = "ICMP")),
      issues: ["spec.ports[0].protocol: must be one of TCP, UDP, SCTP, UDPLite"],
    },
    {
      name: "mac and interface",
      input: variant(wep, (w) => {
        w.spec.mac = "52:54:00";
        w.spec.interfaceName = "a-very-long-interface";
      }),
      issues: [
        "spec.interfaceName: must be a Linux interface name: 1-15 letters, digits, '_', '.' or '-'",
        "spec.mac: must be a MAC address",
      ],
    },
    {
      name: "host endpoint with neither interface nor IPs",
      input: variant(hep, (h) => {
        delete h.spec.interfaceName;
        delete h.spec.expectedIPs;
      }),
      issues: [
        "spec.expectedIPs: must list an address when interfaceName is not set (the host endpoint is bound to the interfaces holding them)",
      ],
    },
    {
      name: "host endpoint expected IP given as a CIDR",
      input: variant(hep, (h) => (h.spec.expectedIPs = ["172.18.0.0/16"])),
      issues: ["spec.expectedIPs[0]: must be an IP address"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});

describe("projectcalico.org/v3", () => {
  test("loads as microseg.io/v1 and remembers where it came from", () => {
    const np = expectValid({ ...policy, apiVersion: "projectcalico.org/v3" });
    assert.equal(np.apiVersion, "microseg.io/v1");
    assert.deepEqual(np.metadata.annotations, {
      "microseg.io/original-api-version": "projectcalico.org/v3",
    });
  });

  test("its errors read as for microseg.io/v1", () => {
    expectIssues(
      variant(
        { ...policy, apiVersion: "projectcalico.org/v3" },
        (p) => (p.spec.ingress[0].action = "Drop"),
      ),
      ["spec.ingress[0].action: must be one of Allow, Deny, Log, Pass"],
    );
  });

  test("a Calico kind this project does not take is named", () => {
    const result = parseResource({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "p" },
    });
    assert.deepEqual(result, {
      ok: false,
      issues: [
        {
          code: "manifest.kind",
          path: "",
          message: 'unknown kind "IPPool" in apiVersion "projectcalico.org/v3"',
        },
      ],
    });
  });
});
