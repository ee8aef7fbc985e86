// The offline commands on a cluster dump: a generated 5,000-pod / 500-policy YAML dump (as
// `kubectl get -A -o yaml` would print it, one document per object) validated as a set, then
// the whole cluster's matrix folded per namespace pair. Baseline in the same process: parsing
// the same text with the YAML library alone, so the ratio is what validation adds.
import { parseAllDocuments, stringify } from "yaml";
import { namespaceSummary } from "../src/analysis/matrix.ts";
import { parseManifests } from "../src/model/index.ts";
import { buildWorld } from "../src/policy/index.ts";
import { generateCluster } from "./cluster-gen.ts";
import { type BenchArgs, type BenchReport, intArg, median } from "./lib.ts";

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function timedRuns<T>(runs: number, f: () => T): { ms: number; value: T } {
  const times: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), value: value! };
}

export default async function offlineBench(args: BenchArgs): Promise<BenchReport> {
  const pods = intArg(args, "pods", 5_000);
  const policies = intArg(args, "policies", 500);
  const namespaces = Math.max(1, Math.round(pods / 100));
  const resources = generateCluster({ pods, policies, namespaces, seed: 3 });
  const text = resources.map((r) => stringify(r)).join("---\n");
  const mb = Buffer.byteLength(text) / 2 ** 20;

  const yamlOnly = timedRuns(3, () => parseAllDocuments(text).length);
  const validate = timedRuns(3, () => parseManifests(text, "dump.yaml"));
  if (!validate.value.ok) throw new Error("generated dump does not validate");
  const loaded = validate.value.resources;
  const validatePeakMb = peakRssMb();

  // `--summary-pods N`: the summary over the first N pods' namespaces' share of the dump (it is
  // quadratic; the whole 5,000-pod cluster takes minutes).
  const summaryPods = intArg(args, "summary-pods", pods);
  const world = buildWorld(
    summaryPods >= pods
      ? loaded
      : generateCluster({
          pods: summaryPods,
          policies,
          namespaces: Math.max(1, Math.round(summaryPods / 100)),
          seed: 3,
        }),
  );
  const ports = [{ port: 8080, protocol: "TCP" as const }];
  const summary = timedRuns(1, () => namespaceSummary(world.cluster, world.evaluator, ports));
  const cells = summary.value.reduce((n, r) => n + r.allowed + r.denied, 0);

  return {
    rows: [
      { metric: "dump", value: `${pods} pods, ${policies} policies`, note: `${mb.toFixed(1)} MB` },
      {
        metric: "YAML parse alone (baseline)",
        value: yamlOnly.ms,
        unit: "ms",
        note: "median of 3",
      },
      { metric: "validate (parse + schemas + set)", value: validate.ms, unit: "ms" },
      { metric: "validate / YAML parse", value: validate.ms / yamlOnly.ms, unit: "x" },
      { metric: "peak RSS after validating", value: validatePeakMb, unit: "MB" },
      {
        metric: `matrix summary, whole cluster of ${summaryPods} pods`,
        value: summary.ms,
        unit: "ms",
        note: `${cells} cells, ${summary.value.length} namespace pairs`,
      },
      { metric: "verdicts/s in the summary", value: Math.round(cells / (summary.ms / 1000)) },
    ],
    figures: {
      pods,
      policies,
      dumpMb: Math.round(mb * 10) / 10,
      yamlParseMs: Math.round(yamlOnly.ms),
      validateMs: Math.round(validate.ms),
      validatePeakRssMb: Math.round(validatePeakMb),
      summaryMs: Math.round(summary.ms),
      summaryCells: cells,
    },
  };
}
