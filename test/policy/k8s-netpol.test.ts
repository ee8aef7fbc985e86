// Every case of the upstream Kubernetes NetworkPolicy e2e corpus, judged by the policy layer.
import assert from "node:assert/strict";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { buildWorld } from "../../src/policy/world.ts";
import {
  type CorpusCluster,
  clusterResources,
  corpusFiles,
  type Resource,
  readCorpus,
} from "../corpus/corpus.ts";
import { allowed } from "./judge.ts";

interface Probe {
  port: number;
  protocol: string;
  expected: Record<string, Record<string, boolean>>;
}
interface Check {
  from: string;
  to: string;
  port: number;
  protocol: string;
  expected: boolean;
}
interface Step {
  actions?: string[];
  cluster?: CorpusCluster;
  policies: Resource[];
  probes?: Probe[];
  checks?: Check[];
}
interface Case {
  name: string;
  cluster?: CorpusCluster;
  policies?: Resource[];
  probes?: Probe[];
  steps?: Step[];
}

for (const file of corpusFiles("k8s-netpol")) {
  const c = readCorpus<Case>(file);
  const steps: Step[] = c.steps ?? [{ policies: c.policies ?? [], probes: c.probes ?? [] }];
  describe(`k8s-netpol ${basename(file, ".yaml")}`, () => {
    steps.forEach((step, i) => {
      it(`step ${i + 1}${step.actions ? `: ${step.actions.join("; ")}` : ""}`, () => {
        const cluster = step.cluster ?? c.cluster;
        assert.ok(cluster, "case has a cluster");
        const world = buildWorld([...clusterResources(cluster), ...step.policies]);
        const wrong: string[] = [];
        for (const probe of step.probes ?? []) {
          for (const [from, row] of Object.entries(probe.expected)) {
            for (const [to, expected] of Object.entries(row)) {
              if (from === to) continue; // upstream ignores loopback
              const got = allowed(world, from, to, probe.port, probe.protocol);
              if (got !== expected) {
                wrong.push(
                  `${from} -> ${to} ${probe.port}/${probe.protocol}: expected ${expected ? "allow" : "deny"}, got ${got ? "allow" : "deny"}`,
                );
              }
            }
          }
        }
        for (const check of step.checks ?? []) {
          const got = allowed(world, check.from, check.to, check.port, check.protocol);
          if (got !== check.expected) {
            wrong.push(
              `${check.from} -> ${check.to} ${check.port}/${check.protocol}: expected ${check.expected ? "allow" : "deny"}, got ${got ? "allow" : "deny"}`,
            );
          }
        }
        assert.deepEqual(wrong, []);
      });
    });
  });
}
