// Every step of the AdminNetworkPolicy / BaselineAdminNetworkPolicy conformance corpus.

import assert from "node:assert/strict";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { validResources } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/world.ts";
import {
  type CorpusCluster,
  clusterResources,
  corpusFiles,
  type Resource,
  readCorpus,
} from "../corpus/corpus.ts";
import { allowed } from "./judge.ts";

interface Check {
  from: string;
  to: string;
  toIP: string;
  port: number;
  protocol: string;
  expected: boolean;
}
interface Case {
  cluster: CorpusCluster;
  steps: Array<{ name: string; policies: Resource[]; checks: Check[] }>;
}

for (const file of corpusFiles("anp")) {
  const c = readCorpus<Case>(file);
  describe(`anp ${basename(file, ".yaml")}`, () => {
    for (const step of c.steps) {
      it(step.name, () => {
        const world = buildWorld(
          validResources([...clusterResources(c.cluster), ...step.policies]),
        );
        const wrong: string[] = [];
        for (const check of step.checks) {
          // Checks connect to the server's address directly (host-network targets: the node's).
          const got = allowed(world, check.from, check.toIP, check.port, check.protocol);
          if (got !== check.expected) {
            wrong.push(
              `${check.from} -> ${check.to} (${check.toIP}) ${check.port}/${check.protocol}: expected ${check.expected ? "allow" : "deny"}, got ${got ? "allow" : "deny"}`,
            );
          }
        }
        assert.deepEqual(wrong, []);
      });
    }
  });
}
