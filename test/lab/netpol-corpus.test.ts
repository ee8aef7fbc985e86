// The corpus as lab steps, without root: every step converts to a valid manifest set inside the
// lab's ranges, and moving addresses keeps each ipBlock holding the same pods.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planLab } from "../../src/lab/index.ts";
import { labSpecFromManifests } from "../../src/lab/manifests.ts";
import { labAddress, labCidr, netpolSteps } from "./netpol-corpus.ts";

describe("k8s-netpol corpus as lab steps", () => {
  test("addresses and blocks move to 198.18.0.0/16 in place", () => {
    assert.equal(labAddress("10.0.2.3"), "198.18.2.3");
    assert.equal(labCidr("10.0.1.0/24"), "198.18.1.0/24");
    assert.equal(labCidr("10.0.1.10/32"), "198.18.1.10/32");
    assert.equal(labCidr("0.0.0.0/4"), "192.0.0.0/4");
    assert.throws(() => labCidr("172.16.0.0/12"), /does not cover/);
    assert.throws(() => labAddress("10.1.0.1"), /outside 10\.0\.0\.0\/16/);
  });

  test("every step is a lab: 9 shared pods for truth tables, cells on both sides of the policy", () => {
    const steps = netpolSteps();
    assert.equal(steps.length, 144);
    for (const step of steps) {
      const plan = planLab(labSpecFromManifests(step.resources), "c1");
      const pods = new Set(plan.pods.map((p) => p.name));
      for (const c of step.cells) {
        assert.ok(pods.has(c.from) && pods.has(c.to), `${step.name}: ${c.from} -> ${c.to}`);
      }
    }
    const cells = steps.flatMap((s) => s.cells);
    assert.equal(cells.length, 5265 - 65 * 9 + 163, "every non-self matrix cell and every check");
    assert.ok(cells.some((c) => c.expected) && cells.some((c) => !c.expected));
  });
});
