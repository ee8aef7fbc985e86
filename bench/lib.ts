// Shared measurement helpers for bench/*: medians and percentiles over repeated runs, and the
// report shape every bench returns (a readable table plus one flat object of figures).

import { loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface BenchRow {
  metric: string;
  value: number | string;
  unit?: string;
  note?: string;
}

export interface BenchReport {
  rows: BenchRow[];
  figures: Record<string, number | string>;
}

export type BenchArgs = Record<string, string | boolean>;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/**
 * A distribution-free interval for the median of `values`, from order statistics: the k-th
 * smallest and the k-th largest value, k the largest for which the median lies between them
 * with at least `confidence` (the count of values below the median is Binomial(n, 1/2)).
 * NaN bounds when there are too few values for that confidence (fewer than 6 at 0.95).
 */
export function medianInterval(
  values: readonly number[],
  confidence = 0.95,
): { low: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const tail = (1 - confidence) / 2;
  let k = 0;
  let atMost = 0; // P(X <= j)
  let exactly = 0.5 ** n; // P(X = j)
  for (let j = 0; j < n; j++) {
    atMost += exactly;
    if (atMost > tail) break;
    k = j + 1;
    exactly = (exactly * (n - j)) / (j + 1);
  }
  return k === 0
    ? { low: Number.NaN, high: Number.NaN }
    : { low: sorted[k - 1]!, high: sorted[n - k]! };
}

export function summarize(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

/** The one-minute load average, two decimals: quoted beside every figure. */
export const load1 = (): number => Number(loadavg()[0]!.toFixed(2));

export function nowMs(): number {
  return performance.now();
}

/** Runs fn `rounds` times and returns the median wall time in ms. */
export function medianTimeMs(rounds: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export function rssMb(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}

export function intArg(args: BenchArgs, name: string, fallback: number): number {
  const v = args[name];
  if (typeof v !== "string") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: expected a positive integer`);
  return n;
}

export { seededRandom as rng } from "../src/util/random.ts";

/**
 * Live memory after a full collection: the heap (JS objects) and the whole process (RSS, with
 * native allocations such as SQLite's page cache). `gc` is exposed at run time, so benches need
 * no node flag.
 */
export function memoryAfterGc(): { heapMb: number; externalMb: number; rssMb: number } {
  collect();
  const m = process.memoryUsage();
  const mb = (b: number) => b / (1024 * 1024);
  return { heapMb: mb(m.heapUsed), externalMb: mb(m.external), rssMb: mb(m.rss) };
}

let gcFn: (() => void) | undefined;
function collect(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
  gcFn();
}
