// kubectl habits of loading: `-f -` reads standard input; an empty input is an error.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadManifests } from "../../src/model/index.ts";

const BIN = fileURLToPath(new URL("../../bin/microseg.js", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "microseg-inputs-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("loading like kubectl", () => {
  it("-f - reads the manifests from standard input", () => {
    const r = spawnSync(process.execPath, [BIN, "validate", "-f", "-"], {
      input: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 object valid/);
  });

  it("validate -n places objects without a namespace there; one naming another is an error", () => {
    const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: []}\n";
    const run = (input: string) =>
      spawnSync(process.execPath, [BIN, "validate", "-n", "shop", "-f", "-"], {
        input,
        encoding: "utf8",
      });
    const ok = run(pod);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stderr,
      /namespace "shop" has no Namespace object/,
      "the implied namespace is warned about",
    );
    const other = run(pod.replace("{name: web}", "{name: web, namespace: team-x}"));
    assert.equal(other.status, 1);
    assert.match(
      other.stdout,
      /metadata\.namespace: the namespace from the provided object "team-x" does not match the namespace "shop"/,
    );
  });

  it("an empty input is an error", async () => {
    const empty = join(tmp, "empty.yaml");
    writeFileSync(empty, "# nothing here\n---\n");
    const result = await loadManifests([empty]);
    assert.equal(result.ok, false);
    assert.equal(result.ok ? "" : result.errors[0]!.code, "manifest.empty");
  });
});
