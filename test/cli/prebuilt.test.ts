// The bundled entry point: built by bin/microseg.js on the first short-lived command after an
// edit, chosen only while it is at least as new as every source, and answering exactly as the
// sources do.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-expect-error: plain JavaScript beside bin/microseg.js, which must run before tsx does
import { buildBundle, freshBundle, prebuiltEntry } from "../../bin/prebuilt.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fresh = freshBundle as (root: string) => string | undefined;
const entryOf = prebuiltEntry as (root: string, args: string[]) => Promise<string | undefined>;
const build = buildBundle as (root: string) => Promise<string | undefined>;

describe("which entry", () => {
  const root = mkdtempSync(join(tmpdir(), "microseg-prebuilt-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const source = join(root, "src", "model", "meta.ts");
  mkdirSync(dirname(source), { recursive: true });
  writeFileSync(source, "export {};\n");
  const setTimes = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
  for (const path of [source, dirname(source), join(root, "src")]) setTimes(path, 1_000);

  it("none without a bundle", () => {
    assert.equal(fresh(root), undefined);
  });

  it("a bundle stamped at or after every source's mtime is fresh; an edit after it is not", () => {
    mkdirSync(join(root, "dist", "cli.1000000-abc"), { recursive: true });
    symlinkSync("cli.1000000-abc", join(root, "dist", "cli"));
    assert.equal(fresh(root), join(root, "dist", "cli", "main.js"));
    setTimes(source, 1_000.5);
    assert.equal(fresh(root), undefined, "a source half a second newer");
  });

  it("the long-running commands run the bundle too; help and cni-install run the sources", async () => {
    setTimes(source, 1_000);
    assert.ok(fresh(root));
    for (const args of [["agent"], ["lab", "up"], ["up"], ["server"], ["matrix", "-o", "json"]]) {
      assert.equal(await entryOf(root, args), fresh(root), args.join(" "));
    }
    for (const args of [["--help"], [], ["cni-install"]]) {
      assert.equal(await entryOf(root, args), undefined, args.join(" ") || "no arguments");
    }
  });
});

describe("the bundle", () => {
  // A copy of the sources inside node_modules, so that the bundle resolves the project's
  // packages and its package.json (type: module) as dist/ does, and can be edited.
  const root = mkdtempSync(join(ROOT, "node_modules", ".microseg-build-test-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(ROOT, "src"), join(root, "src"), { recursive: true });
  cpSync(join(ROOT, "bin"), join(root, "bin"), { recursive: true });
  const bin = join(root, "bin", "microseg.js");
  const run = (entry: string[], args: string[]) =>
    spawnSync(process.execPath, [...entry, ...args], { cwd: ROOT, encoding: "utf8" });

  it("is built by the first short-lived command and answers as the sources do", () => {
    const runs = [
      ["validate", "-f", "examples/"],
      ["matrix", "-f", "examples/blue-ldap", "-o", "json"],
      ["lint", "-f", "examples/segmented-apps", "-o", "json"],
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
      const built = run([bin], args);
      const sources = run(["--import", "tsx", join(ROOT, "src", "cli", "main.ts")], args);
      assert.ok(
        sources.status === 0 || sources.status === 1,
        `${args.join(" ")}: ${sources.stderr}`,
      );
      assert.ok(sources.stdout.length > 0, args.join(" "));
      assert.equal(built.stdout, sources.stdout, args.join(" "));
      assert.equal(built.status, sources.status, args.join(" "));
    }
    const entry = fresh(root);
    assert.ok(entry, "the first run left a fresh bundle");
    assert.match(readFileSync(entry, "utf8"), /registerCommands/);
  });

  it("holds the CNI plugin's entry, which bin/microseg-cni.js runs while it is fresh", () => {
    const entry = fresh(root);
    assert.ok(entry, "the bundle of the test before is fresh");
    const cni = join(dirname(entry), "cni.js");
    assert.ok(existsSync(cni), "cni.js beside main.js");
    const version = (path: string) =>
      spawnSync(process.execPath, [path], {
        cwd: ROOT,
        encoding: "utf8",
        input: "",
        env: { ...process.env, CNI_COMMAND: "VERSION" },
      });
    const bundled = version(cni);
    assert.equal(bundled.status, 0, bundled.stderr);
    assert.deepEqual(JSON.parse(bundled.stdout).supportedVersions, ["1.0.0"]);
    // The launcher of this copy: its answer must be the bundle's, byte for byte.
    const launched = version(join(root, "bin", "microseg-cni.js"));
    assert.equal(launched.stdout, bundled.stdout, launched.stderr);
  });

  it("an edited source is bundled again by the next run, which shows the edit", () => {
    const before = readlinkSync(join(root, "dist", "cli"));
    const validate = join(root, "src", "cli", "commands", "validate.ts");
    const text = readFileSync(validate, "utf8");
    assert.match(text, /valid/);
    writeFileSync(validate, text.replace(`"objects"} valid`, `"objects"} checked`));
    assert.equal(fresh(root), undefined);
    const r = run([bin], ["validate", "-f", "examples/"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /objects checked/);
    assert.notEqual(readlinkSync(join(root, "dist", "cli")), before);
    assert.ok(fresh(root));
  });

  it("a source esbuild cannot bundle fails the command and leaves no bundle nor lock", () => {
    const broken = join(root, "src", "model", "broken-for-test.ts");
    writeFileSync(broken, "export const x = ;\n");
    const index = join(root, "src", "model", "index.ts");
    const text = readFileSync(index, "utf8");
    writeFileSync(index, `${text}export * from "./broken-for-test.ts";\n`);
    const builds = () => readdirSync(join(root, "dist")).filter((e) => /^cli\.\d+-/.test(e));
    const before = builds();
    try {
      const r = run([bin], ["validate", "-f", "examples/"]);
      // tsx then reports it (how, it decides: this copy lies inside node_modules).
      assert.notEqual(r.status, 0);
      assert.equal(fresh(root), undefined, "no bundle of the broken sources");
      assert.equal(existsSync(join(root, "dist", ".cli-build.lock")), false);
      assert.deepEqual(builds(), before, "the failed build's folder is gone");
    } finally {
      writeFileSync(index, text);
      rmSync(broken);
    }
    const r = run([bin], ["validate", "-f", "examples/"]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fresh(root));
  });

  it("a build while another holds the lock runs the sources instead of waiting", async () => {
    const lock = join(root, "dist", ".cli-build.lock");
    writeFileSync(lock, "");
    try {
      assert.equal(await build(root), undefined);
    } finally {
      rmSync(lock);
    }
    assert.ok(await build(root));
  });
});
