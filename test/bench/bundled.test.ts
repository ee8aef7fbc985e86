import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURE = join(ROOT, "test", "bench", "fixtures", "flags-bench.ts");
const DRIVER = join(ROOT, "test", "bench", "fixtures", "run-bundled.ts");

/** Runs runBundled on the fixture in a node started as `npm run bench` starts one. */
function runFixture(...argv: string[]) {
  return spawnSync(
    process.execPath,
    ["--max-semi-space-size=4", "--import", "tsx", DRIVER, FIXTURE, "flags", ...argv],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
}

describe("a bench run from a bundle", () => {
  it("runs bundled code in a child with the flags but tsx's, prints its figures, and cleans up", () => {
    const run = runFixture("--json");
    assert.equal(run.status, 0, run.stderr);
    const figures = JSON.parse(run.stdout.trim()) as { execArgv: string; module: string };
    assert.equal(figures.execArgv, "--max-semi-space-size=4");
    assert.match(figures.module, /\/dist\/bench\/run-\d+\.mjs$/);
    const left = existsSync(join(ROOT, "dist", "bench"))
      ? readdirSync(join(ROOT, "dist", "bench")).filter((f) => f.endsWith(".mjs"))
      : [];
    assert.ok(!left.some((f) => figures.module.endsWith(f)), "the bundle is deleted after the run");
  });

  it("exits non-zero when the bench throws", () => {
    const run = runFixture("--fail");
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /flags-bench: asked to fail/);
  });
});
