// Each lint check against its two fixtures (test/analysis/lint/<check>/): it fires on bad.yaml
// at the object and path the fixture's first line names, and not on good.yaml. Staged, the same
// policies are linted as what they would enforce, the findings naming the staged object.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CHECKS, lint } from "../../src/analysis/lint/index.ts";
import { loadManifests, type Resource, validResource } from "../../src/model/index.ts";

const FIXTURES = join(import.meta.dirname, "lint");

async function load(file: string): Promise<Resource[]> {
  const loaded = await loadManifests([file]);
  if (!loaded.ok) assert.fail(`${file} does not load: ${JSON.stringify(loaded.errors)}`);
  return loaded.resources;
}

const findings = async (file: string) => lint(await load(file));

const STAGED: Record<string, string> = {
  "networking.k8s.io/v1 NetworkPolicy": "StagedKubernetesNetworkPolicy",
  "microseg.io/v1 NetworkPolicy": "StagedNetworkPolicy",
  "microseg.io/v1 GlobalNetworkPolicy": "StagedGlobalNetworkPolicy",
};

/** The policy as a staged one of the same name, or undefined for kinds with no staged form. */
function asStaged(r: Resource): Resource | undefined {
  const kind = STAGED[`${r.apiVersion} ${r.kind}`];
  if (!kind || !("spec" in r)) return undefined;
  return validResource({ apiVersion: "microseg.io/v1", kind, metadata: r.metadata, spec: r.spec });
}

const nameOf = (r: Resource) =>
  `${r.apiVersion.split("/")[0]}/${r.kind} ${r.metadata.namespace ? `${r.metadata.namespace}/` : ""}${r.metadata.name}`;

describe("lint checks: a bad and a good fixture each", () => {
  for (const check of CHECKS) {
    it(check.id, async () => {
      const bad = join(FIXTURES, check.id, "bad.yaml");
      const expect = /^# expect: (.+) \| (.+)$/m.exec(readFileSync(bad, "utf8"));
      assert.ok(expect, `${bad} has no "# expect: OBJECT | PATH" line`);
      const [, object, path] = expect;
      const fired = (await findings(bad)).filter((f) => f.check === check.id);
      assert.ok(
        fired.some((f) => f.object === object && f.path === path),
        `${check.id} did not fire at ${object} ${path} on bad.yaml; it found ${JSON.stringify(fired)}`,
      );
      for (const f of fired) {
        assert.equal(f.severity, check.severity);
        assert.ok(f.message.length > 20, `message too short: ${f.message}`);
      }
      const good = (await findings(join(FIXTURES, check.id, "good.yaml"))).filter(
        (f) => f.check === check.id,
      );
      assert.deepEqual(good, [], `${check.id} fired on good.yaml`);
    });
  }
});

describe("lint checks on staged policies: linted as what they would enforce", () => {
  for (const check of CHECKS) {
    it(check.id, async (t) => {
      const bad = join(FIXTURES, check.id, "bad.yaml");
      const [, object, path] = /^# expect: (.+) \| (.+)$/m.exec(readFileSync(bad, "utf8"))!;
      const resources = await load(bad);
      const subject = resources.find((r) => nameOf(r) === object);
      const staged = subject && asStaged(subject);
      if (!staged) {
        t.diagnostic(`${object} has no staged form`);
        return assert.ok(subject, `${object} is in ${bad}`);
      }
      const fired = lint(resources.map((r) => (r === subject ? staged : r))).filter(
        (f) => f.check === check.id,
      );
      assert.ok(
        fired.some((f) => f.object === nameOf(staged) && f.path === path),
        `${check.id} did not fire at ${nameOf(staged)} ${path}: ${JSON.stringify(fired)}`,
      );
      assert.ok(
        fired.every((f) => f.object !== object),
        "the enforced object is gone: nothing is said of it",
      );
      const good = await load(join(FIXTURES, check.id, "good.yaml"));
      const goodFired = lint(good.map((r) => asStaged(r) ?? r)).filter((f) => f.check === check.id);
      assert.deepEqual(goodFired, [], `${check.id} fired on good.yaml staged`);
    });
  }
});
