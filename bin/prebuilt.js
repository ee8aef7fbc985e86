// Which entry point the `microseg` command runs: the prebuilt JavaScript in dist/ (`npm run
// build`) when it is newer than every source file, else the TypeScript sources through tsx.
// tsx costs about 0.25 s of start-up and a third more on a 15 MB validate, which is what the
// offline commands in users' CI pay on every run.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The short-lived commands only. The others start workers and child processes by their source
 * paths (the nft worker, the lab's prober), and a server's or agent's start-up does not matter.
 */
const PREBUILT_COMMANDS = new Set([
  "validate",
  "matrix",
  "explain",
  "lint",
  "cost",
  "simulate",
  "recommend",
  "apply",
  "get",
  "describe",
  "delete",
  "label",
  "flows",
  "alerts",
]);

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const at = statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs;
    if (at > newest) newest = at;
  }
  return newest;
}

/** dist/cli/main.js under `root` when `args` name a prebuilt command and it is fresh. */
export function prebuiltEntry(root, args) {
  const command = args.find((a) => !a.startsWith("-"));
  if (command === undefined || !PREBUILT_COMMANDS.has(command)) return undefined;
  const entry = join(root, "dist", "cli", "main.js");
  let built;
  try {
    built = statSync(entry).mtimeMs;
  } catch {
    return undefined;
  }
  return newestMtimeMs(join(root, "src")) < built ? entry : undefined;
}
