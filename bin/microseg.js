#!/usr/bin/env node
// Runs the prebuilt dist/ when it is fresh (bin/prebuilt.js), else the TypeScript sources
// directly through tsx, so the checkout needs no build step.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { prebuiltEntry } from "./prebuilt.js";

const entry = prebuiltEntry(
  join(dirname(fileURLToPath(import.meta.url)), ".."),
  process.argv.slice(2),
);
if (entry !== undefined) await import(pathToFileURL(entry).href);
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
