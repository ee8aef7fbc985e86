// Every check of the ClusterNetworkPolicy conformance suite, judged by the policy model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validResources } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/world.ts";
import { allowed } from "../policy/judge.ts";
import { cnpCorpusFiles, readCnpCase } from "./cnp-corpus.ts";

const files = cnpCorpusFiles();

describe("ClusterNetworkPolicy conformance (network-policy-api), model", () => {
  it("holds the whole transcription: 24 tests, 92 steps, 301 checks", () => {
    const cases = files.map(readCnpCase);
    const steps = cases.flatMap((c) => c.steps);
    const checks = steps.flatMap((s) => s.parts.flatMap((p) => p.checks));
    assert.deepEqual([cases.length, steps.length, checks.length], [24, 92, 301]);
    assert.ok(checks.some((c) => c.expected) && checks.some((c) => !c.expected));
  });

  for (const file of files) {
    const c = readCnpCase(file);
    describe(c.name, () => {
      for (const step of c.steps) {
        it(step.name, () => {
          const wrong: string[] = [];
          for (const part of step.parts) {
            const world = buildWorld(validResources(part.resources));
            for (const k of part.checks) {
              const got = allowed(world, k.from, k.toIP, k.port, k.protocol);
              if (got !== k.expected) {
                const want = k.expected ? "allow" : "deny";
                wrong.push(
                  `${part.name}: ${k.from} -> ${k.to} (${k.toIP}) ${k.port}/${k.protocol}: expected ${want}, got ${got ? "allow" : "deny"}`,
                );
              }
            }
          }
          assert.deepEqual(wrong, []);
        });
      }
    });
  }
});
