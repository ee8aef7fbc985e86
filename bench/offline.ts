// The offline commands on a cluster dump, against issue 12's goals: a generated 5,000-pod /
// 500-policy dump (bench/dump-gen.ts: one `List` as `kubectl get -o yaml` prints it, ~15 MB)
// validated as a set (goal: under 1 s and 300 MB), and the whole cluster's matrix summary and
// its filters (goal: under 5 s). Baselines in the same process: JSON.parse of the same objects
// (the floor of any reader) and js-yaml alone (the reader validate uses) for validate; judging
// cells one by one, as the matrix did before verdict classes, for the summary.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { dump, loadAll } from "js-yaml";
// @ts-expect-error: plain JavaScript beside bin/microseg.js
import { buildBundle, freshBundle } from "../bin/prebuilt.js";
import {
  declaredPorts,
  type MatrixFilter,
  matrixStream,
  namespaceSummary,
} from "../src/analysis/matrix.ts";
import { writeResultsJson } from "../src/analysis/matrix-text.ts";
import { VerdictClasses } from "../src/analysis/verdict-classes.ts";
import { parseManifests } from "../src/model/index.ts";
import { duplicateKeys } from "../src/model/json-keys.ts";
import { YAML_CORE_SCHEMA } from "../src/model/yaml-schema.ts";
import { buildWorld, type World } from "../src/policy/index.ts";
import { baselineCli } from "./baseline-cli.ts";
import { generateCluster } from "./cluster-gen.ts";
import { dumpList, generateDump } from "./dump-gen.ts";
import { type BenchArgs, type BenchReport, type BenchRow, intArg, median } from "./lib.ts";

const BIN = "bin/microseg.js";
/** What bin/microseg.js runs when dist/ is missing or stale: the sources through tsx. */
const SOURCES = ["--import", "tsx", "src/cli/main.ts"];

/**
 * The bundle bin/microseg.js runs (bin/prebuilt.js), built here when a source is newer, so
 * the child runs measure it and not a build: the time of that build when there was one.
 */
async function ensureBuilt(): Promise<number | undefined> {
  if (freshBundle(".") !== undefined) return undefined;
  const t0 = performance.now();
  if ((await buildBundle(".")) === undefined) throw new Error("another process is building dist/");
  return performance.now() - t0;
}

const VALIDATE_GOAL_MS = 1_000;
const VALIDATE_GOAL_MB = 300;
const MATRIX_GOAL_MS = 5_000;

function timed<T>(runs: number, f: () => T): { ms: number; value: T } {
  const times: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), value: value! };
}

const against = (ms: number, goal: number) =>
  `goal < ${goal.toLocaleString("en-US")} ms: ${ms < goal ? "met" : "NOT met"}`;

interface CliRun {
  readonly ms: number;
  readonly cpuMs: number;
  readonly peakMb: number;
}

/** Reports the child's peak RSS and CPU time at exit, preloaded. */
const REPORT =
  'data:text/javascript,import{writeSync}from"node:fs";process.on("exit",()=>{const u=process.resourceUsage();writeSync(2,"\\npeak-rss-kb "+u.maxRSS+" cpu-us "+(u.userCPUTime+u.systemCPUTime)+"\\n")})';

/** One run of the real command in a child process, start-up included. */
function cliOnce(args: string[], entry: string[]): CliRun {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, ["--import", REPORT, ...entry, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
  });
  const ms = performance.now() - t0;
  if (run.status !== 0) throw new Error(`microseg ${args.join(" ")} failed: ${run.stderr}`);
  const kb = Number(/peak-rss-kb (\d+)/.exec(run.stderr)?.[1] ?? Number.NaN);
  const cpuMs = Number(/cpu-us (\d+)/.exec(run.stderr)?.[1] ?? Number.NaN) / 1000;
  return { ms, cpuMs, peakMb: kb / 1024 };
}

/** Medians of wall and CPU time over runs; peak RSS the largest. */
function medians(runs: readonly CliRun[]): CliRun {
  return {
    ms: median(runs.map((r) => r.ms)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    peakMb: Math.max(...runs.map((r) => r.peakMb)),
  };
}

/**
 * The real command in a child process: what a user's `microseg validate -f dump.yaml` costs,
 * start-up included. The median of `runs`.
 */
function cli(args: string[], entry: string[] = [BIN], runs = 1): CliRun {
  return medians(Array.from({ length: runs }, () => cliOnce(args, entry)));
}

/**
 * Two entries' runs taken in turn (A, B, A, B, ...), so both see the same load on this shared
 * machine: the medians of each.
 */
function alternating(args: string[], a: string[], b: string[], runs: number): [CliRun, CliRun] {
  const as: CliRun[] = [];
  const bs: CliRun[] = [];
  for (let i = 0; i < runs; i++) {
    as.push(cliOnce(args, a));
    bs.push(cliOnce(args, b));
  }
  return [medians(as), medians(bs)];
}

/**
 * `--baseline REF`: validate and the matrix summary through REF's command and this tree's,
 * alternating (`--baseline-runs`, 7 by default), with the load before and after.
 */
function baselineRows(ref: string, runs: number, file: string): BenchRow[] {
  const baseline = baselineCli(ref);
  try {
    const rows: BenchRow[] = [];
    const compare = (label: string, args: string[], n: number) => {
      const before = loadavg()[0]!.toFixed(1);
      const [old, now] = alternating(args, [baseline.bin], [BIN], n);
      const after = loadavg()[0]!.toFixed(1);
      rows.push(
        {
          metric: `${label}: ${baseline.commit} (baseline), CPU`,
          value: old.cpuMs,
          unit: "ms",
          note: `median of ${n}, alternating with this tree; wall ${old.ms.toFixed(0)} ms; peak RSS ${old.peakMb.toFixed(0)} MB; load ${before} -> ${after}`,
        },
        {
          metric: `${label}: this tree, CPU`,
          value: now.cpuMs,
          unit: "ms",
          note: `median of ${n}; wall ${now.ms.toFixed(0)} ms; peak RSS ${now.peakMb.toFixed(0)} MB`,
        },
        {
          metric: `${label}: baseline / this tree`,
          value: old.cpuMs / now.cpuMs,
          unit: "x",
          note: `CPU time; wall ${(old.ms / now.ms).toFixed(2)} x`,
        },
      );
    };
    compare("validate -f dump.yaml", ["validate", "-f", file], runs);
    compare("validate -f examples/", ["validate", "-f", "examples/"], runs);
    compare("matrix -f dump.yaml -o summary", ["matrix", "-f", file, "-o", "summary"], 3);
    return rows;
  } finally {
    baseline.remove();
  }
}

/** Cells judged one by one (the matrix before verdict classes), on the first `rows` rows. */
function cellRate(world: World, rows: number): number {
  const workloads = world.cluster.workloads();
  const peers = workloads.map((w) => world.cluster.peerOf(w));
  const pp = { port: 8080, protocol: "TCP" as const };
  const t0 = performance.now();
  let cells = 0;
  for (const source of peers.slice(0, rows)) {
    for (const destination of peers) {
      world.evaluator.evaluate({ source, destination, ...pp });
      cells++;
    }
  }
  return cells / ((performance.now() - t0) / 1000);
}

function classCount(world: World): number {
  const classes = new VerdictClasses(world.program, world.cluster);
  for (const w of world.cluster.workloads())
    classes.classOf({ ...world.cluster.peerOf(w), endpoint: w });
  return classes.count;
}

function summaryRow(world: World, label: string, filter: MatrixFilter = {}): BenchRow {
  const { ms, value } = timed(1, () =>
    namespaceSummary(world.cluster, world.evaluator, undefined, filter),
  );
  const cells = value.reduce((n, r) => n + r.allowed + r.denied, 0);
  return {
    metric: label,
    value: ms,
    unit: "ms",
    note: `${cells.toLocaleString("en-US")} cells, ${value.length} rows; ${against(ms, MATRIX_GOAL_MS)}`,
  };
}

export default async function offlineBench(args: BenchArgs): Promise<BenchReport> {
  const pods = intArg(args, "pods", 5_000);
  const policies = intArg(args, "policies", 500);
  const worstPods = intArg(args, "worst-pods", 1_000);
  const load = loadavg()[0]!.toFixed(1);

  const objects = dumpList(generateDump({ pods, policies }));
  const text = dump(objects, { noRefs: true, lineWidth: -1, noArrayIndent: true });
  const json = JSON.stringify(objects);
  // As `kubectl get -o json` prints it (4 spaces), about twice the YAML's size.
  const kubectlJson = JSON.stringify(objects, null, 4);
  const mb = Buffer.byteLength(text) / 2 ** 20;
  const dir = mkdtempSync(join(tmpdir(), "microseg-offline-bench-"));
  const file = join(dir, "dump.yaml");
  writeFileSync(file, text);
  const jsonFile = join(dir, "dump.json");
  writeFileSync(jsonFile, kubectlJson);

  const baseline = typeof args.baseline === "string" ? args.baseline : undefined;
  const baselineRuns = intArg(args, "baseline-runs", 7);
  const head: BenchRow[] = [
    { metric: "load average (1 min)", value: load, note: "2 cores shared by 8 developers" },
    {
      metric: "dump",
      value: `${pods} pods, ${policies} policies`,
      note: `${mb.toFixed(1)} MB of YAML, one List`,
    },
  ];

  try {
    if (baseline !== undefined && args["baseline-only"]) {
      await ensureBuilt();
      const rows = [...head, ...baselineRows(baseline, baselineRuns, file)];
      return { rows, figures: { loadAverage: Number(load), pods, policies } };
    }
    const jsonParse = timed(3, () => JSON.parse(json));
    const yamlParse = timed(3, () => loadAll(text, null, { schema: YAML_CORE_SCHEMA }));
    const validate = timed(3, () => parseManifests(text, "dump.yaml"));
    if (!validate.value.ok) throw new Error("generated dump does not validate");
    const duplicateScan = timed(3, () => duplicateKeys(kubectlJson));
    const validateJson = timed(3, () => parseManifests(kubectlJson, "dump.json"));
    if (!validateJson.value.ok) throw new Error("generated JSON dump does not validate");
    const yamlOfJson = timed(3, () => loadAll(kubectlJson, null, { schema: YAML_CORE_SCHEMA }));
    const rebuilt = await ensureBuilt();
    const command = cli(["validate", "-f", file], [BIN], 3);
    const fromSources = cli(["validate", "-f", file], SOURCES, 3);
    const commandJson = cli(["validate", "-f", jsonFile], [BIN], 3);
    const startup = cli(["validate", "-f", "examples/"], [BIN], 5);
    const startupSources = cli(["validate", "-f", "examples/"], SOURCES, 5);

    const world = buildWorld(validate.value.resources);
    const workloads = world.cluster.workloads();
    const ports = declaredPorts(workloads);
    const classes = classCount(world);
    const whole = summaryRow(world, `matrix -o summary, whole cluster (${ports.length} ports)`);
    const wholeMs = whole.value as number;
    const rate = cellRate(world, Math.max(1, Math.round(1_000_000 / workloads.length)));
    const perCellMs = ((workloads.length * workloads.length * ports.length) / rate) * 1000;

    const matrixCommand = cli(["matrix", "-f", file, "-o", "summary"]);
    const gridPorts = [{ port: 8080, protocol: "TCP" as const }];
    const grid = timed(1, () => {
      let cells = 0;
      matrixStream(world.cluster, world.evaluator, gridPorts).forEach(() => {
        cells++;
      });
      return cells;
    });
    const gridJson = timed(1, () => {
      let chars = 0;
      const stream = matrixStream(world.cluster, world.evaluator, undefined, { namespace: "ns-3" });
      writeResultsJson(stream, (t) => {
        chars += t.length;
      });
      return chars;
    });

    const random = buildWorld(
      generateCluster({
        pods: worstPods,
        policies,
        namespaces: Math.max(1, worstPods / 100),
        seed: 3,
      }),
    );
    const randomClasses = classCount(random);

    const rows: BenchRow[] = [
      ...head,
      {
        metric: "JSON.parse of the same objects (floor)",
        value: jsonParse.ms,
        unit: "ms",
        note: "median of 3",
      },
      { metric: "js-yaml alone (baseline)", value: yamlParse.ms, unit: "ms", note: "median of 3" },
      {
        metric: "validate (parse + schemas + set)",
        value: validate.ms,
        unit: "ms",
        note: `median of 3; ${against(validate.ms, VALIDATE_GOAL_MS)}`,
      },
      { metric: "validate / js-yaml alone", value: validate.ms / yamlParse.ms, unit: "x" },
      {
        metric: "validate, the dump as kubectl -o json",
        value: validateJson.ms,
        unit: "ms",
        note: `median of 3; ${(Buffer.byteLength(kubectlJson) / 2 ** 20).toFixed(1)} MB; JSON.parse + duplicate keys + schemas + set`,
      },
      {
        metric: "duplicate-key scan of that JSON alone",
        value: duplicateScan.ms,
        unit: "ms",
        note: "median of 3 (src/model/json-keys.ts)",
      },
      {
        metric: "js-yaml alone on that JSON (the path before)",
        value: yamlOfJson.ms,
        unit: "ms",
        note: "median of 3",
      },
      {
        metric: "js-yaml on the JSON / JSON validate",
        value: yamlOfJson.ms / validateJson.ms,
        unit: "x",
      },
      { metric: "validate / JSON.parse", value: validate.ms / jsonParse.ms, unit: "x" },
      {
        metric: "microseg validate -f dump.yaml (child, bin: the bundle)",
        value: command.ms,
        unit: "ms",
        note: `median of 3, wall, start-up included, CPU ${command.cpuMs.toFixed(0)} ms${rebuilt !== undefined ? ` (bundled first in ${rebuilt.toFixed(0)} ms: it was stale)` : ""}; peak RSS ${command.peakMb.toFixed(0)} MB (goal < ${VALIDATE_GOAL_MB} MB: ${command.peakMb < VALIDATE_GOAL_MB ? "met" : "NOT met"}); ${against(command.ms, VALIDATE_GOAL_MS)}`,
      },
      {
        metric: "microseg validate -f dump.json (child, bin: the bundle)",
        value: commandJson.ms,
        unit: "ms",
        note: `the same dump as kubectl get -o json prints it; median of 3, wall; CPU ${commandJson.cpuMs.toFixed(0)} ms; peak RSS ${commandJson.peakMb.toFixed(0)} MB`,
      },
      {
        metric: "the same from the sources through tsx (child)",
        value: fromSources.ms,
        unit: "ms",
        note: `what bin runs while another process bundles; CPU ${fromSources.cpuMs.toFixed(0)} ms; peak RSS ${fromSources.peakMb.toFixed(0)} MB`,
      },
      {
        metric: "sources / bundle",
        value: fromSources.ms / command.ms,
        unit: "x",
        note: `CPU time: ${(fromSources.cpuMs / command.cpuMs).toFixed(2)} x`,
      },
      {
        metric: "microseg validate -f examples/ (child, bundle: start-up)",
        value: startup.ms,
        unit: "ms",
        note: `CPU ${startup.cpuMs.toFixed(0)} ms; peak RSS ${startup.peakMb.toFixed(0)} MB`,
      },
      {
        metric: "the same from the sources through tsx (child)",
        value: startupSources.ms,
        unit: "ms",
        note: `CPU ${startupSources.cpuMs.toFixed(0)} ms; peak RSS ${startupSources.peakMb.toFixed(0)} MB`,
      },
      {
        metric: "verdict classes",
        value: classes,
        note: `of ${workloads.length} workloads`,
      },
      whole,
      { metric: "cells judged one by one (baseline)", value: Math.round(rate), unit: "cells/s" },
      {
        metric: "whole-cluster summary judged cell by cell (estimate)",
        value: perCellMs,
        unit: "ms",
        note: `${(workloads.length ** 2 * ports.length).toLocaleString("en-US")} cells at the rate above`,
      },
      { metric: "cell by cell / by class", value: perCellMs / wholeMs, unit: "x" },
      {
        metric: "microseg matrix -f dump.yaml -o summary (child)",
        value: matrixCommand.ms,
        unit: "ms",
        note: `wall: start-up, validate, world, summary; CPU ${matrixCommand.cpuMs.toFixed(0)} ms; peak RSS ${matrixCommand.peakMb.toFixed(0)} MB; ${against(matrixCommand.ms, MATRIX_GOAL_MS)}`,
      },
      {
        metric: "grid, whole cluster, 8080/TCP: cells visited",
        value: grid.ms,
        unit: "ms",
        note: `${grid.value.toLocaleString("en-US")} cells, ${Math.round(grid.value / (grid.ms / 1000)).toLocaleString("en-US")} cells/s (by class)`,
      },
      {
        metric: "grid -o json -n ns-3 (streamed)",
        value: gridJson.ms,
        unit: "ms",
        note: `${(gridJson.value / 2 ** 20).toFixed(1)} MB of JSON`,
      },
      summaryRow(world, "matrix -o summary -n ns-3", { namespace: "ns-3" }),
      summaryRow(world, `matrix -o summary --from "app == 'app-1'"`, { from: "app == 'app-1'" }),
      summaryRow(world, `matrix -o summary --to "component == 'db'"`, { to: "component == 'db'" }),
      {
        metric: `random labels per pod (cluster-gen), ${worstPods} pods`,
        value: randomClasses,
        note: "verdict classes: few pods share one, so classes save little",
      },
      summaryRow(random, `matrix -o summary, those ${worstPods} pods`),
      ...(baseline !== undefined ? baselineRows(baseline, baselineRuns, file) : []),
    ];
    return {
      rows,
      figures: {
        loadAverage: Number(load),
        pods,
        policies,
        dumpMb: Math.round(mb * 10) / 10,
        jsonParseMs: Math.round(jsonParse.ms),
        yamlParseMs: Math.round(yamlParse.ms),
        validateMs: Math.round(validate.ms),
        cliValidateMs: Math.round(command.ms),
        cliValidatePeakRssMb: Math.round(command.peakMb),
        cliValidateSourcesMs: Math.round(fromSources.ms),
        cliStartupMs: Math.round(startup.ms),
        cliStartupSourcesMs: Math.round(startupSources.ms),
        cliMatrixSummaryMs: Math.round(matrixCommand.ms),
        cliMatrixSummaryPeakRssMb: Math.round(matrixCommand.peakMb),
        gridCellsPerSecond: Math.round(grid.value / (grid.ms / 1000)),
        classes,
        summaryMs: Math.round(wholeMs),
        cellByCellEstimateMs: Math.round(perCellMs),
        cellsPerSecond: Math.round(rate),
        randomClasses,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
