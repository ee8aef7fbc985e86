// Calico Profiles are not enforced: a `calicoctl get profiles -o yaml` dump's generated ones
// (kns.*, ksa.*, projectcalico-default-allow) restate what microseg derives and are skipped;
// any other Profile, or an endpoint naming one, is refused, since its rules would be lost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseManifests } from "../../src/model/index.ts";

const generated = `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.ops}
spec:
  ingress: [{action: Allow, source: {}, destination: {}}]
  egress: [{action: Allow, source: {}, destination: {}}]
  labelsToApply: {pcns.projectcalico.org/name: ops, pcns.kubernetes.io/metadata.name: ops}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: ksa.ops.default}
spec:
  labelsToApply: {pcsa.projectcalico.org/name: default}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: projectcalico-default-allow}
spec:
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
`;

const endpoint = (profiles: string) => `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: vm1, namespace: ops}
spec:
  node: n1
  interfaceName: tap1
  ipNetworks: [198.18.5.1/32]
  profiles: [${profiles}]
`;

const load = (...texts: string[]) => parseManifests(texts.join("---\n"), "profiles.yaml");
const messages = (r: ReturnType<typeof load>) =>
  r.ok ? [] : r.errors.map((e) => `${e.kind} ${e.name}: ${e.path}: ${e.message}`);

describe("Calico Profiles", () => {
  it("the generated ones are skipped with a warning, and endpoints may name them", () => {
    const result = load(generated, endpoint("kns.ops, ksa.ops.default"));
    assert.ok(result.ok, messages(result).join("\n"));
    assert.deepEqual(
      result.resources.map((r) => r.kind),
      ["WorkloadEndpoint"],
    );
    assert.ok(
      result.warnings.some((w) => /skipped 3 objects of kind Profile/.test(w.message)),
      JSON.stringify(result.warnings),
    );
  });

  it("a Profile with its own rules or labels is refused, naming why", () => {
    for (const spec of [
      "ingress: [{action: Deny}]",
      "egress: [{action: Allow, destination: {nets: [198.18.0.0/16]}}]",
      "labelsToApply: {tier: legacy}",
    ]) {
      for (const name of ["legacy", "kns.ops"]) {
        const text = `apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: ${name}}\nspec: {${spec}}\n`;
        const errors = messages(load(text));
        assert.equal(errors.length, 1, `${name} ${spec}`);
        assert.match(
          errors[0]!,
          /^Profile .*: Profile \(projectcalico\.org\/v3\) is not supported: its rules and labelsToApply would be ignored/,
        );
      }
    }
  });

  it("an endpoint naming another Profile is refused at spec.profiles", () => {
    assert.deepEqual(messages(load(endpoint("kns.ops, legacy-deny"))), [
      "WorkloadEndpoint vm1: spec.profiles[1]: names a Profile, whose rules microseg does not enforce (only kns.*, ksa.* and projectcalico-default-allow): write them as a (Global)NetworkPolicy selecting this endpoint",
    ]);
  });
});
