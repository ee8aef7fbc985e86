#!/usr/bin/env node
// microseg's CNI plugin, exec'd by the container runtime once per sandbox and command (install
// it into the runtime's CNI bin directory as `microseg`). It runs the bundle's cni.js when the
// bundle is at least as new as every source (`npm run build`, or any short-lived microseg
// command after an edit): the plugin is on every pod's start-up path, and tsx would add about a
// quarter of a second to each. Otherwise it runs the TypeScript sources through tsx; it never
// builds, so a pod's start never waits on esbuild.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freshBundle } from "./prebuilt.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fresh = freshBundle(root);
// A bundle built before the plugin had an entry of its own holds no cni.js.
const bundle = fresh === undefined ? undefined : join(dirname(fresh), "cni.js");

if (bundle !== undefined && existsSync(bundle)) await import(pathToFileURL(bundle).href);
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cni/main.ts");
}
