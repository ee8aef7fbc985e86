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

  it("doNotTrack, preDNAT and applyOnForward: false loads, true is refused by name", () => {
    assert.deepEqual(errorsOf("  doNotTrack: false\n  applyOnForward: false\n"), []);
    for (const field of ["doNotTrack", "preDNAT", "applyOnForward"]) {
      const errors = errorsOf(`  ${field}: true\n`);
      assert.equal(errors.length, 1, field);
      assert.match(errors[0]!, new RegExp(`^spec\\.${field}: host endpoint policy stages`));
    }
  });
});
