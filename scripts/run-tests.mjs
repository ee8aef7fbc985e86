// `npm test`: runs every test/**/*.test.ts with node's test runner through tsx. Node 20's
// --test takes no globs, so the files are listed here. Arguments narrow the run to paths
// containing any of them (`npm test -- engine policy`).
//
// Files run concurrently, each in its own process: most of the suite's time is spent waiting
// on kernels, child processes and browsers, not on the CPU, and every suite owns what it makes
// (random namespace and lab names, temporary directories, port 0). MICROSEG_TEST_CONCURRENCY
// sets how many run at once; the slowest files start first so that they do not finish last.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Path fragments of the files that take longest (labs, browsers, agents): started first. */
const SLOW_FIRST = [
  "test/up/",
  "test/analysis/lab-",
  "test/web/",
  "test/lab/",
  "test/agent/kernel-",
  "test/flows/kernel-",
];

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}

const rank = (f) => {
  const i = SLOW_FIRST.findIndex((p) => f.startsWith(p));
  return i === -1 ? SLOW_FIRST.length : i;
};

const filters = process.argv.slice(2);
const files = testFiles(join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(", ")}`);
  process.exit(1);
}
const concurrency = Number(process.env.MICROSEG_TEST_CONCURRENCY ?? availableParallelism() + 2);
const result = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-reporter=spec",
    ...files,
  ],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
