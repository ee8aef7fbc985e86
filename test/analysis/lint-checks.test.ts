// Each lint check against its two fixtures (test/analysis/lint/<check>/): it fires on bad.yaml
// at the object and path the fixture's first line names, and not on good.yaml.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CHECKS, lint } from "../../src/analysis/lint/index.ts";
import { loadManifests } from "../../src/model/index.ts";

const FIXTURES = join(import.meta.dirname, "lint");

async function findings(file: string) {
  const loaded = await loadManifests([file]);
  if (!loaded.ok) assert.fail(`${file} does not load: ${JSON.stringify(loaded.errors)}`);
  return lint(loaded.resources);
}

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
