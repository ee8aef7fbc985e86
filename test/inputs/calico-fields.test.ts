// Documented Calico fields: accepted when they change no verdict, refused with the reason when
// enforcing without them would differ from what was written.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseManifests } from "../../src/model/index.ts";

function errorsOf(spec: string): string[] {
  const result = parseManifests(
    `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
${spec}`,
    "p.yaml",
  );
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

describe("Calico fields", () => {
  it("performanceHints is accepted and ignored", () => {
    assert.deepEqual(errorsOf("  performanceHints: [AssumeNeededOnEveryNode]\n"), []);
  });

  it("a rule's http match is refused as L7", () => {
    const errors = errorsOf(
      "  ingress: [{action: Allow, http: {methods: [GET], paths: [{exact: /health}]}}]\n",
    );
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^spec\.ingress\[0\]\.http: L7 match not supported/);
  });

  it("doNotTrack, preDNAT and applyOnForward load on a GlobalNetworkPolicy", () => {
    assert.deepEqual(errorsOf("  doNotTrack: false\n  applyOnForward: false\n"), []);
    assert.deepEqual(errorsOf("  doNotTrack: true\n  applyOnForward: true\n"), []);
    assert.deepEqual(errorsOf("  preDNAT: true\n  applyOnForward: true\n  types: [Ingress]\n"), []);
    assert.deepEqual(errorsOf("  applyOnForward: true\n"), []);
  });

  it("Calico's rules on them are errors naming the field at fault", () => {
    const cases: Array<[string, string]> = [
      [
        "  doNotTrack: true\n  preDNAT: true\n  applyOnForward: true\n",
        "spec.preDNAT: preDNAT and doNotTrack cannot both be true",
      ],
      [
        "  doNotTrack: true\n",
        "spec.applyOnForward: must be true when doNotTrack or preDNAT is true",
      ],
      ["  preDNAT: true\n", "spec.applyOnForward: must be true when doNotTrack or preDNAT is true"],
      [
        "  preDNAT: true\n  applyOnForward: true\n  egress: [{action: Allow}]\n",
        "spec.egress: a preDNAT policy cannot have egress rules (pre-DNAT policy is ingress only)",
      ],
      [
        "  preDNAT: true\n  applyOnForward: true\n  types: [Ingress, Egress]\n",
        "spec.types: a preDNAT policy cannot have type Egress (pre-DNAT policy is ingress only)",
      ],
    ];
    for (const [spec, error] of cases) assert.deepEqual(errorsOf(spec), [error], spec);
  });

  it("a namespaced NetworkPolicy may not set them", () => {
    for (const field of ["doNotTrack", "preDNAT", "applyOnForward"]) {
      const result = parseManifests(
        `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  ${field}: false\n`,
        "p.yaml",
      );
      const errors = result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
      assert.deepEqual(errors, [
        `spec.${field}: only a GlobalNetworkPolicy may set it (host endpoint policy)`,
      ]);
    }
  });
});

describe("stage policies and host endpoints found by their expectedIPs", () => {
  const hep = (iface: string) => `---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h, labels: {role: edge}}
spec: {node: n1, expectedIPs: [198.19.0.1]${iface}}
`;
  const policy = (selector: string) => `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec: {selector: "${selector}", preDNAT: true, applyOnForward: true}
`;
  const errors = (text: string) => {
    const r = parseManifests(text, "x.yaml");
    return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
  };

  // Bound to the interfaces holding its expectedIPs (Felix's rule): enforced, so accepted.
  it("loads whether the host endpoint names its interface or is found by its expectedIPs", () => {
    assert.deepEqual(errors(policy("role == 'edge'") + hep("")), []);
    assert.deepEqual(errors(policy("role == 'edge'") + hep(", interfaceName: eth0")), []);
  });

  it("a host endpoint with neither interfaceName nor expectedIPs is an error on expectedIPs", () => {
    const bare =
      "---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: h}\nspec: {node: n1}\n";
    assert.deepEqual(errors(policy("role == 'edge'") + bare), [
      "spec.expectedIPs: must list an address when interfaceName is not set (the host endpoint is bound to the interfaces holding them)",
    ]);
  });
});

describe("StagedGlobalNetworkPolicy takes the stage fields too", () => {
  const staged = (spec: string) => {
    const r = parseManifests(
      `apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: p}\nspec:\n${spec}`,
      "p.yaml",
    );
    return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
  };

  it("with Calico's rules, and none of them on a staged Delete", () => {
    assert.deepEqual(staged("  doNotTrack: true\n  applyOnForward: true\n"), []);
    assert.deepEqual(staged("  doNotTrack: true\n"), [
      "spec.applyOnForward: must be true when doNotTrack or preDNAT is true",
    ]);
    assert.deepEqual(staged("  stagedAction: Delete\n  applyOnForward: true\n"), [
      "spec.applyOnForward: must be unset when stagedAction is Delete",
    ]);
  });
});
