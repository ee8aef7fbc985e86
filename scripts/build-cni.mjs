// `npm run build:cni [-- --out PATH]`: the CNI plugin as one executable file (Node 20's single
// executable applications), for nodes whose host has no Node: the DaemonSet's init container
// copies it to /opt/cni/bin/microseg (`microseg cni-install`). esbuild bundles src/cni/main.ts
// into one CommonJS script (a SEA's main runs as CommonJS and may require only built-ins; the
// plugin imports nothing else), node makes the preparation blob from it, and postject injects
// the blob into a copy of this node binary. Default output: dist/microseg-cni.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { out: { type: "string" } } });
const out = resolve(values.out ?? join(root, "dist", "microseg-cni"));
// The fuse node's SEA support looks for; postject flips it when it injects the blob.
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

mkdirSync(dirname(out), { recursive: true });
const work = mkdtempSync(join(dirname(out), ".microseg-cni-"));
try {
  const { build } = await import("esbuild");
  const script = join(work, "cni.cjs");
  await build({
    entryPoints: [join(root, "src", "cni", "main.ts")],
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    outfile: script,
    logLevel: "warning",
  });
  const blob = join(work, "cni.blob");
  const config = join(work, "sea-config.json");
  writeFileSync(
    config,
    JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "pipe" });
  // Injected into a copy in the work folder, then renamed: a node's runtime may exec the
  // previous file at this path meanwhile, and must never see half of the new one.
  const binary = join(work, "microseg-cni");
  copyFileSync(process.execPath, binary);
  const { inject } = createRequire(import.meta.url)("postject");
  await quietly(() => inject(binary, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: FUSE }));
  chmodSync(binary, 0o755);
  renameSync(binary, out);
  console.log(`microseg: ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * postject's ELF reader prints a warning per section name it cannot place (Debian's node has
 * `.note` sections it does not know) and its progress to stdout; only failures matter here.
 */
async function quietly(fn) {
  const { log, warn } = console;
  console.log = () => {};
  console.warn = () => {};
  try {
    await fn();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}
