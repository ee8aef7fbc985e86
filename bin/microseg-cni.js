#!/usr/bin/env node
// microseg's CNI plugin, exec'd by the container runtime once per sandbox and command (install
// it into the runtime's CNI bin directory as `microseg`). It runs the prebuilt dist/cni/main.js
// when it is newer than the plugin's sources (`npm run build`): the plugin is on every pod's
// start-up path, and tsx would add about a quarter of a second to each. Otherwise it runs the
// TypeScript sources through tsx.
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "cni", "main.js");

function fresh() {
  let at;
  try {
    at = statSync(built).mtimeMs;
  } catch {
    return false;
  }
  const sources = join(root, "src", "cni");
  return readdirSync(sources).every((f) => statSync(join(sources, f)).mtimeMs < at);
}

if (fresh()) await import(pathToFileURL(built).href);
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cni/main.ts");
}
