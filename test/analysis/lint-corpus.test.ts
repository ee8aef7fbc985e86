// No false alarm at error severity: lint over the examples and every step of the conformance
// corpora (policies written by the upstream projects, on purpose) finds no error.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { lint } from "../../src/analysis/lint/index.ts";
import { loadManifests, validResources } from "../../src/model/index.ts";
import {
  type CorpusCluster,
  clusterResources,
  corpusFiles,
  type Resource,
  readCorpus,
} from "../corpus/corpus.ts";
import { netpolCaseSteps, netpolCorpusFiles } from "../corpus/k8s-netpol.ts";

const EXAMPLES = join(import.meta.dirname, "../../examples");

function errorsOf(resources: readonly Resource[]): string[] {
  return lint(validResources(resources))
    .filter((f) => f.severity === "error")
    .map((f) => `${f.object}: ${f.path}: ${f.message} [${f.check}]`);
}

describe("lint: no error-severity finding on written-on-purpose policies", () => {
  it("the examples", async () => {
    const folders = readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory());
    assert.ok(folders.length >= 2, "examples/ has no example folders");
    for (const folder of folders) {
      const loaded = await loadManifests([join(EXAMPLES, folder.name)]);
      assert.ok(loaded.ok, `${folder.name} does not load`);
      assert.ok(loaded.resources.length > 0, `${folder.name} is empty`);
      const errors = lint(loaded.resources).filter((f) => f.severity === "error");
      assert.deepEqual(errors, [], folder.name);
    }
  });

  it("every k8s-netpol step", () => {
    const files = netpolCorpusFiles();
    assert.ok(files.length > 0, "the k8s-netpol corpus is empty");
    let steps = 0;
    for (const file of files) {
      for (const step of netpolCaseSteps(file)) {
        steps++;
        assert.deepEqual(
          errorsOf([...clusterResources(step.cluster), ...step.policies]),
          [],
          step.name,
        );
      }
    }
    assert.ok(steps > 100, `only ${steps} steps read`);
  });

  it("every AdminNetworkPolicy step", () => {
    const files = corpusFiles("anp");
    assert.ok(files.length > 0, "the anp corpus is empty");
    for (const file of files) {
      const c = readCorpus<{
        cluster: CorpusCluster;
        steps: Array<{ name: string; policies: Resource[] }>;
      }>(file);
      assert.ok(c.steps.length > 0, basename(file));
      for (const step of c.steps) {
        assert.deepEqual(
          errorsOf([...clusterResources(c.cluster), ...step.policies]),
          [],
          `${basename(file)}: ${step.name}`,
        );
      }
    }
  });

  it("every policy-assistant case", () => {
    const files = corpusFiles("policy-assistant");
    assert.ok(files.length > 0, "the policy-assistant corpus is empty");
    for (const file of files) {
      const c = readCorpus<{ cluster: CorpusCluster; policies: Resource[] }>(file);
      assert.deepEqual(
        errorsOf([...clusterResources(c.cluster), ...c.policies]),
        [],
        basename(file),
      );
    }
  });
});
