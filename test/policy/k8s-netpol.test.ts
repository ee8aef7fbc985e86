// Every case of the upstream Kubernetes NetworkPolicy e2e corpus, judged by the policy layer.

import assert from "node:assert/strict";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { validResources } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/world.ts";
import { clusterResources } from "../corpus/corpus.ts";
import { netpolCaseSteps, netpolCorpusFiles } from "../corpus/k8s-netpol.ts";
import { allowed } from "./judge.ts";

const verdict = (b: boolean) => (b ? "allow" : "deny");

for (const file of netpolCorpusFiles()) {
  describe(`k8s-netpol ${basename(file, ".yaml")}`, () => {
    for (const step of netpolCaseSteps(file)) {
      it(step.name, () => {
        const world = buildWorld(
          validResources([...clusterResources(step.cluster), ...step.policies]),
        );
        const wrong: string[] = [];
        const judge = (
          from: string,
          to: string,
          port: number,
          protocol: string,
          expected: boolean,
        ) => {
          const got = allowed(world, from, to, port, protocol);
          if (got !== expected) {
            wrong.push(
              `${from} -> ${to} ${port}/${protocol}: expected ${verdict(expected)}, got ${verdict(got)}`,
            );
          }
        };
        for (const probe of step.probes) {
          for (const [from, row] of Object.entries(probe.expected)) {
            for (const [to, expected] of Object.entries(row)) {
              if (from !== to) judge(from, to, probe.port, probe.protocol, expected); // upstream ignores loopback
            }
          }
        }
        for (const c of step.checks) judge(c.from, c.to, c.port, c.protocol, c.expected);
        assert.deepEqual(wrong, []);
      });
    }
  });
}
