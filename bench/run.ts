// `npm run bench -- NAME [--json] [--flag value ...]`: runs bench/NAME.ts, whose default export is
// `(args) => Promise<BenchReport>`; prints a table, or with --json one JSON object of figures.
// A bench that declares `export const bundled = true` runs from an esbuild bundle instead, in a
// child with this process's flags (bench/bundled.ts), as the product's commands run.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runBundled } from "./bundled.ts";
import type { BenchArgs, BenchReport } from "./lib.ts";
import { parseArgs, printReport } from "./report.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** The benches: modules of bench/ with a default export (the rest are their helpers). */
function available(): string[] {
  return readdirSync(here)
    .filter(
      (f) => f.endsWith(".ts") && /^export default /m.test(readFileSync(join(here, f), "utf8")),
    )
    .map((f) => f.slice(0, -3));
}

const { name, args } = parseArgs(process.argv.slice(2));
if (name === undefined || !available().includes(name)) {
  console.error(`usage: npm run bench -- NAME [--json]\navailable: ${available().join(", ")}`);
  process.exit(2);
}
const file = join(here, `${name}.ts`);
if (/^export const bundled = true;/m.test(readFileSync(file, "utf8"))) {
  process.exitCode = await runBundled(file, process.argv.slice(2));
} else {
  const mod = (await import(pathToFileURL(file).href)) as {
    default: (args: BenchArgs) => Promise<BenchReport>;
  };
  printReport(name, await mod.default(args), args);
}
