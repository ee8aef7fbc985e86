#!/usr/bin/env -S node --max-semi-space-size=4 --v8-pool-size=1
// Runs the bundle of the sources in dist/ when it is fresh, building it first when it is
// missing or stale (bin/prebuilt.js), else the TypeScript sources directly through tsx, so the
// checkout needs no build step.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { prebuiltEntry } from "./prebuilt.js";

const entry = await prebuiltEntry(
  join(dirname(fileURLToPath(import.meta.url)), ".."),
  process.argv.slice(2),
);
if (entry !== undefined) await import(pathToFileURL(entry).href);
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
