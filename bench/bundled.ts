// Runs a bench from an esbuild bundle, as the product's commands run (bin/prebuilt.js: no
// keepNames, the sources in one scope), so that a bench of the product's own CPU measures the
// code users run rather than tsx's modules: the engine's cold start is about 7% slower through
// tsx. The bundle goes to dist/bench/ (two folders deep like src/x/, so paths from the
// checkout's root resolve), runs in a child with this process's flags but tsx's, and is
// deleted after.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

/** This process's node flags without tsx's loader, which the bundle does not need. */
function flagsWithoutTsx(): string[] {
  const flags: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--import" && argv[i + 1] === "tsx") i++;
    else if (argv[i] !== "--import=tsx") flags.push(argv[i]!);
  }
  return flags;
}

/** Bundles the bench module `file` with the report's printer and runs it: the exit code. */
export async function runBundled(file: string, argv: readonly string[]): Promise<number> {
  const dir = join(root, "dist", "bench");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `run-${process.pid}.mjs`);
  try {
    await build({
      stdin: {
        contents: [
          `import bench from ${JSON.stringify(file)};`,
          `import { parseArgs, printReport } from ${JSON.stringify(join(here, "report.ts"))};`,
          "const { name, args } = parseArgs(process.argv.slice(2));",
          "printReport(name, await bench(args), args);",
        ].join("\n"),
        resolveDir: here,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      outfile: out,
      logLevel: "warning",
    });
    const child = spawn(process.execPath, [...flagsWithoutTsx(), out, ...argv], {
      stdio: "inherit",
    });
    return await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    rmSync(out, { force: true });
  }
}
