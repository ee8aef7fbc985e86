// The prebuilt entry point: chosen only when it is newer than every source and the command is
// a short-lived one, and the build answers exactly as the sources do.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-expect-error: plain JavaScript beside bin/microseg.js, which must run before tsx does
import { prebuiltEntry } from "../../bin/prebuilt.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const entryOf = prebuiltEntry as (root: string, args: string[]) => string | undefined;

describe("prebuilt entry", () => {
  const root = mkdtempSync(join(tmpdir(), "microseg-prebuilt-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const source = join(root, "src", "model", "meta.ts");
  const entry = join(root, "dist", "cli", "main.js");
  mkdirSync(dirname(source), { recursive: true });
  writeFileSync(source, "export {};\n");
  const setTimes = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it("none without a build", () => {
    assert.equal(entryOf(root, ["validate", "-f", "x.yaml"]), undefined);
  });

  it("a build newer than every source serves the short-lived commands only", () => {
    mkdirSync(dirname(entry), { recursive: true });
    writeFileSync(entry, "");
    for (const path of [source, dirname(source), join(root, "src")]) setTimes(path, 1_000);
    setTimes(entry, 2_000);
    assert.equal(entryOf(root, ["validate", "-f", "x.yaml"]), entry);
    assert.equal(entryOf(root, ["matrix", "-o", "json"]), entry);
    for (const command of ["agent", "lab", "up", "server"]) {
      assert.equal(entryOf(root, [command]), undefined, command);
    }
    assert.equal(entryOf(root, ["--help"]), undefined);
  });

  it("a source edited after the build sends the command to the sources", () => {
    setTimes(source, 3_000);
    assert.equal(entryOf(root, ["validate"]), undefined);
  });
});

describe("the build", () => {
  // Inside node_modules so that the build resolves the project's packages and its
  // package.json (type: module), as dist/ does.
  const out = mkdtempSync(join(ROOT, "node_modules", ".microseg-build-test-"));
  after(() => rmSync(out, { recursive: true, force: true }));

  it("compiles, and answers as the sources do", () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const build = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", out], {
      cwd: ROOT,
      encoding: "utf8",
    });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    const runs = [
      ["validate", "-f", "examples/"],
      ["matrix", "-f", "examples/blue-ldap", "-o", "json"],
      [
        "explain",
        "-f",
        "examples/",
        "--from",
        "directory/blue-web-0",
        "--to",
        "directory/ldap-server-0",
        "--port",
        "389",
      ],
    ];
    for (const args of runs) {
      const built = spawnSync(process.execPath, [join(out, "cli", "main.js"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
      });
      const sources = spawnSync(
        process.execPath,
        ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args],
        { cwd: ROOT, encoding: "utf8" },
      );
      assert.ok(
        sources.status === 0 || sources.status === 1,
        `${args.join(" ")}: ${sources.stderr}`,
      );
      assert.ok(sources.stdout.length > 0, args.join(" "));
      assert.equal(built.stdout, sources.stdout, args.join(" "));
      assert.equal(built.status, sources.status, args.join(" "));
    }
  });
});
