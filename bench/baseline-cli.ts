// The `microseg` command of another commit, for old-versus-new runs in one bench process: that
// commit's src/ and bin/ unpacked under node_modules (so its imports resolve to this checkout's
// packages, as test/cli/prebuilt.test.ts does), bundled by its own bin/ on its first run, as a
// user's checkout would be.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface BaselineCli {
  /** The commit's bin/microseg.js. */
  readonly bin: string;
  readonly commit: string;
  readonly remove: () => void;
}

export function baselineCli(ref: string): BaselineCli {
  const commit = execFileSync("git", ["rev-parse", "--short", ref], { encoding: "utf8" }).trim();
  const root = mkdtempSync(join("node_modules", ".microseg-baseline-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const tar = join(root, "src.tar");
    execFileSync("git", ["archive", "-o", tar, commit, "src", "bin"]);
    execFileSync("tar", ["-xf", tar, "-C", root]);
    rmSync(tar);
    const bin = join(root, "bin", "microseg.js");
    // Its first short-lived command bundles it; the runs measured come after.
    const first = spawnSync(process.execPath, [bin, "validate", "-f", "examples/"], {
      encoding: "utf8",
    });
    if (first.status !== 0) throw new Error(`baseline ${commit}: ${first.stderr}`);
    return { bin, commit, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
