// policy-assistant's simulation cases: each direction's own verdict and the combined one.

import assert from "node:assert/strict";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { validResources } from "../../src/model/index.ts";
import { resolvePeer } from "../../src/policy/flow.ts";
import type { Protocol } from "../../src/policy/types.ts";
import { buildWorld } from "../../src/policy/world.ts";
import {
  type CorpusCluster,
  clusterResources,
  corpusFiles,
  type Resource,
  readCorpus,
} from "../corpus/corpus.ts";

type Matrix = Record<string, Record<string, boolean | null>>;
interface Case {
  cluster: CorpusCluster;
  policies: Resource[];
  probes: Array<{
    port: number;
    protocol: string;
    expected: Matrix;
    ingress: Matrix;
    egress: Matrix;
  }>;
}

for (const file of corpusFiles("policy-assistant")) {
  const c = readCorpus<Case>(file);
  describe(`policy-assistant ${basename(file, ".yaml")}`, () => {
    const world = buildWorld(validResources([...clusterResources(c.cluster), ...c.policies]));
    for (const probe of c.probes) {
      it(`${probe.port}/${probe.protocol}`, () => {
        const wrong: string[] = [];
        for (const [from, row] of Object.entries(probe.expected)) {
          for (const [to, expected] of Object.entries(row)) {
            if (expected === null) continue; // self flows are undefined upstream
            const v = world.evaluator.evaluate({
              source: resolvePeer(world.cluster, from, "from"),
              destination: resolvePeer(world.cluster, to, "to"),
              port: probe.port,
              protocol: probe.protocol as Protocol,
            });
            const name = `${from} -> ${to} ${probe.port}/${probe.protocol}`;
            const want = {
              combined: expected,
              ingress: probe.ingress[from]?.[to],
              egress: probe.egress[from]?.[to],
            };
            const got = {
              combined: v.allowed,
              ingress: v.ingress.allowed,
              egress: v.egress.allowed,
            };
            for (const k of ["combined", "ingress", "egress"] as const) {
              if (want[k] !== got[k])
                wrong.push(
                  `${name} ${k}: expected ${want[k] ? "allow" : "deny"}, got ${got[k] ? "allow" : "deny"}`,
                );
            }
          }
        }
        assert.deepEqual(wrong, []);
      });
    }
  });
}
