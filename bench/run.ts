// `npm run bench -- NAME [--json] [--flag value ...]`: runs bench/NAME.ts, whose default export is
// `(args) => Promise<BenchReport>`; prints a table, or with --json one JSON object of figures.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchArgs, BenchReport } from "./lib.ts";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv: string[]): { name: string | undefined; args: BenchArgs } {
  const args: BenchArgs = {};
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        args[a.slice(2)] = next;
        i++;
      } else args[a.slice(2)] = true;
    } else if (name === undefined) name = a;
  }
  return { name, args };
}

/** The benches: modules of bench/ with a default export (the rest are their helpers). */
function available(): string[] {
  return readdirSync(here)
    .filter(
      (f) => f.endsWith(".ts") && /^export default /m.test(readFileSync(join(here, f), "utf8")),
    )
    .map((f) => f.slice(0, -3));
}

function printTable(name: string, report: BenchReport): void {
  const lines = report.rows.map((r) => [
    r.metric,
    typeof r.value === "number" ? formatNumber(r.value) : r.value,
    r.unit ?? "",
    r.note ?? "",
  ]);
  const widths = [0, 1, 2, 3].map((c) =>
    Math.max(...lines.map((l) => l[c]!.length), ["metric", "value", "unit", "note"][c]!.length),
  );
  const fmt = (l: string[]) =>
    l.map((cell, c) => (c === 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ");
  console.log(`bench ${name}`);
  console.log(fmt(["metric", "value", "unit", "note"]));
  for (const l of lines) console.log(fmt(l));
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

const { name, args } = parseArgs(process.argv.slice(2));
if (name === undefined || !available().includes(name)) {
  console.error(`usage: npm run bench -- NAME [--json]\navailable: ${available().join(", ")}`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  default: (args: BenchArgs) => Promise<BenchReport>;
};
const report = await mod.default(args);
if (args.json) console.log(JSON.stringify(report.figures));
else printTable(name, report);
