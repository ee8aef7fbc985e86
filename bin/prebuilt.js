// Which entry point the `microseg` command runs: a bundle of the sources (esbuild, one chunk per
// command) when it is at least as new as every source file, else the TypeScript sources through
// tsx. The bundle is built here, on the first short-lived command after an edit (about 0.1 s of
// esbuild), so the figure users see is the bundle's whichever way they run microseg: `npx
// microseg` in CI after `npm ci`, `npm start`, a fresh clone. tsx costs about 0.25 s of start-up
// and a third more on a 15 MB validate, which the offline commands in users' CI pay on every run.
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { basename, join } from "node:path";

/**
 * The short-lived commands, and the long-running ones: an agent's or a server's engine builds
 * its first state about 7% faster from the bundle (no keepNames, one scope) than from tsx's
 * modules. The worker and the child process they start by source path (the nft worker, the
 * lab's prober) are found from the checkout's root and run through tsx.
 */
const PREBUILT_COMMANDS = new Set([
  "up",
  "server",
  "agent",
  "lab",
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

/**
 * `dist/cli` is a symlink to `cli.<stamp>-<random>/`, where stamp is the newest input mtime (sources, installed packages)
 * (ms, rounded up) when the build started: a build is swapped in whole by renaming a symlink,
 * so a process never sees half of one, and a source edited during a build makes it stale.
 * The folder keeps src/'s depth, so paths built from `import.meta.url` (`../../web/dist`,
 * `../../examples`) still resolve.
 */
const LINK = "cli";
const STAMP = /^cli\.(\d+)-/;
/** A build older than this that is not the current one is removed by the next build. */
const KEEP_OLD_MS = 10 * 60_000;
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 60_000;

export function newestMtimeMs(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const at = statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs;
    if (at > newest) newest = at;
  }
  return newest;
}

/**
 * Pure-JavaScript packages the short-lived commands load at start-up, bundled in: a package
 * left in node_modules is resolved and loaded file by file (zod is about a hundred modules,
 * yaml seventy), about 0.1 s of CPU on every run, a tenth of `validate` on a 15 MB dump. The
 * others stay where they are (native addons, the server's and agent's packages).
 */
const BUNDLED_PACKAGES = new Set(["commander", "ipaddr.js", "js-yaml", "yaml", "zod"]);

/** `zod/v4/core` -> `zod`, `@scope/name/x` -> `@scope/name`. */
function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Every package but the bundled ones stays external (node: built-ins too). */
const externalPackages = {
  name: "external-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      BUNDLED_PACKAGES.has(packageName(args.path))
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

/**
 * The newest input of a bundle: the sources, and npm's record of the installed packages
 * (`node_modules/.package-lock.json`, written by every install), as some are bundled in.
 */
function newestInputMs(root) {
  const installed =
    statSync(join(root, "node_modules", ".package-lock.json"), { throwIfNoEntry: false })
      ?.mtimeMs ?? 0;
  return Math.max(newestMtimeMs(join(root, "src")), installed);
}

/** dist/cli/main.js under `root` when the bundle is at least as new as every input. */
export function freshBundle(root) {
  let target;
  try {
    target = readlinkSync(join(root, "dist", LINK));
  } catch {
    return undefined;
  }
  const stamp = Number(STAMP.exec(basename(target))?.[1] ?? Number.NaN);
  return newestInputMs(root) <= stamp ? join(root, "dist", LINK, "main.js") : undefined;
}

/** Takes the build lock, or answers false when another process is building right now. */
function lock(path) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(path, "wx"));
      return true;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      if (Date.now() - statSync(path, { throwIfNoEntry: false })?.mtimeMs < STALE_LOCK_MS)
        return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

/**
 * Bundles src/cli/main.ts (and the CNI plugin's src/cni/main.ts, as cni.js beside it) into
 * dist/ and returns the CLI's entry; undefined when another process is
 * building (this one runs the sources meanwhile). Throws esbuild's errors (a syntax error in a
 * source, a read-only checkout).
 */
export async function buildBundle(root) {
  const dist = join(root, "dist");
  mkdirSync(dist, { recursive: true });
  const lockPath = join(dist, ".cli-build.lock");
  if (!lock(lockPath)) return undefined;
  try {
    const stamp = Math.ceil(newestInputMs(root));
    const out = mkdtempSync(join(dist, `${LINK}.${stamp}-`));
    // mkdtemp makes it private; the checkout's other users run it too.
    chmodSync(out, 0o755);
    const { build } = await import("esbuild");
    const bundled = build({
      // The CLI, and the CNI plugin (bin/microseg-cni.js runs cni.js: it is exec'd per pod).
      entryPoints: {
        main: join(root, "src", "cli", "main.ts"),
        cni: join(root, "src", "cni", "main.ts"),
      },
      bundle: true,
      // One chunk per command module, loaded on demand as src/cli/commands/index.ts does;
      // without splitting every package any command imports would load at start-up.
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      plugins: [externalPackages],
      // The bundled packages written as CommonJS (commander, yaml) call require(), which an
      // ES module has only this way.
      banner: {
        js: 'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);',
      },
      outdir: out,
      entryNames: "[name]",
      chunkNames: "[name]-[hash]",
      sourcemap: "linked",
      logLevel: "silent",
    });
    await bundled.catch((error) => {
      rmSync(out, { recursive: true, force: true });
      throw error;
    });
    const temporary = join(dist, `${LINK}.link-${process.pid}`);
    rmSync(temporary, { force: true });
    symlinkSync(basename(out), temporary);
    // A folder there is the layout before bundles (tsc's dist/cli/), which rename cannot replace.
    if (lstatSync(join(dist, LINK), { throwIfNoEntry: false })?.isDirectory())
      rmSync(join(dist, LINK), { recursive: true, force: true });
    renameSync(temporary, join(dist, LINK));
    for (const entry of readdirSync(dist)) {
      const path = join(dist, entry);
      if (STAMP.test(entry) && path !== out && Date.now() - statSync(path).mtimeMs > KEEP_OLD_MS)
        rmSync(path, { recursive: true, force: true });
    }
    return join(dist, LINK, "main.js");
  } finally {
    rmSync(lockPath, { force: true });
  }
}

/**
 * The bundle's entry under `root` when `args` name a command that runs it: the fresh one, else
 * one built now; undefined (run the sources) for the other commands, while another process
 * builds, or when the build fails (tsx then reports the source's error as it always did).
 */
export async function prebuiltEntry(root, args) {
  const command = args.find((a) => !a.startsWith("-"));
  if (command === undefined || !PREBUILT_COMMANDS.has(command)) return undefined;
  const fresh = freshBundle(root);
  if (fresh !== undefined) return fresh;
  try {
    return await buildBundle(root);
  } catch {
    return undefined;
  }
}
