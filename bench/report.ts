// How a bench's run is read and shown: its command line, and its report as a table or, with
// --json, one JSON object of figures (bench/run.ts, and the bundles of bench/bundled.ts).
import type { BenchArgs, BenchReport } from "./lib.ts";

export function parseArgs(argv: string[]): { name: string | undefined; args: BenchArgs } {
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

export function printReport(name: string, report: BenchReport, args: BenchArgs): void {
  if (args.json) console.log(JSON.stringify(report.figures));
  else printTable(name, report);
}
