// Every policy object of the shared conformance corpora validates, unchanged.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { parseResource } from "../../src/model/index.ts";
import { expectValid } from "./helpers.ts";

const corpus = new URL("../../../shared/corpus/", import.meta.url);

interface CorpusFile {
  policies?: unknown[];
  steps?: { policies?: unknown[] }[];
}

function policiesOf(file: CorpusFile): unknown[] {
  return [...(file.policies ?? []), ...(file.steps ?? []).flatMap((s) => s.policies ?? [])];
}

for (const dir of ["k8s-netpol", "anp", "policy-assistant"]) {
  describe(`corpus ${dir}`, () => {
    const url = new URL(`${dir}/`, corpus);
    const files = readdirSync(url).filter((f) => f.endsWith(".yaml"));
    test("has cases", () => assert.ok(files.length > 10));
    for (const name of files) {
      test(name, () => {
        const policies = policiesOf(parse(readFileSync(new URL(name, url), "utf8")));
        assert.ok(policies.length > 0, "no policies found");
        policies.forEach((policy, i) => {
          const result = parseResource(policy);
          assert.ok(result.ok, `policy #${i}: ${JSON.stringify(!result.ok && result.issues)}`);
        });
      });
    }
  });
}

test("legacy pods.namespaces is read as namespaceSelector", () => {
  const file = parse(
    readFileSync(
      new URL("policy-assistant/anpconnectivity-ingress-same-labels-port-range.yaml", corpus),
      "utf8",
    ),
  ) as CorpusFile;
  const anp = expectValid(policiesOf(file)[0]);
  assert.equal(anp.kind, "AdminNetworkPolicy");
  if (anp.kind !== "AdminNetworkPolicy") return;
  const peers = anp.spec.ingress?.flatMap((r) => r.from) ?? [];
  const legacy = peers.find((p) => p.pods?.namespaceSelector.sameLabels);
  assert.deepEqual(legacy?.pods?.namespaceSelector, { sameLabels: ["ns"] });
  assert.ok(!("namespaces" in (legacy?.pods ?? {})));
});
