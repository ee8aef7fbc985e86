// Flow verdicts per second on a generated cluster (10k pods, 1k policies by default), and the
// time to compute the full matrix for 1,000 pods.
import { reachabilityMatrix } from "../src/analysis/matrix.ts";
import type { Flow } from "../src/policy/index.ts";
import { buildWorld } from "../src/policy/index.ts";
import { generateCluster } from "./cluster-gen.ts";
import { type BenchArgs, type BenchReport, intArg, median, rng } from "./lib.ts";

export default async function evaluateBench(args: BenchArgs): Promise<BenchReport> {
  const pods = intArg(args, "pods", 10_000);
  const policies = intArg(args, "policies", 1_000);
  const matrixPods = intArg(args, "matrix-pods", 1_000);
  const shape = { pods, policies, namespaces: Math.max(1, Math.round(pods / 100)) };

  let t0 = performance.now();
  const world = buildWorld(generateCluster(shape));
  const buildMs = performance.now() - t0;

  const random = rng(7);
  const workloads = world.cluster.workloads();
  const flows: Flow[] = Array.from({ length: 20_000 }, () => {
    const a = workloads[Math.floor(random() * workloads.length)]!;
    const b = workloads[Math.floor(random() * workloads.length)]!;
    return {
      source: world.cluster.peerOf(a)!,
      destination: world.cluster.peerOf(b)!,
      port: random() < 0.8 ? 8080 : 22,
      protocol: "TCP",
    };
  });
  // First pass fills the per-endpoint policy selection caches, as a long-running service has.
  t0 = performance.now();
  for (const f of flows) world.evaluator.evaluate(f);
  const coldRate = flows.length / ((performance.now() - t0) / 1000);
  const rates: number[] = [];
  for (let round = 0; round < 5; round++) {
    t0 = performance.now();
    for (const f of flows) world.evaluator.evaluate(f);
    rates.push(flows.length / ((performance.now() - t0) / 1000));
  }
  const verdictsPerSecond = median(rates);

  const small = buildWorld(
    generateCluster({
      pods: matrixPods,
      policies: Math.max(1, Math.round(matrixPods / 10)),
      namespaces: Math.max(1, Math.round(matrixPods / 100)),
    }),
  );
  const times: number[] = [];
  let cells = 0;
  for (let round = 0; round < 3; round++) {
    t0 = performance.now();
    cells = reachabilityMatrix(small.cluster, small.evaluator, [{ port: 8080, protocol: "TCP" }])
      .results.length;
    times.push(performance.now() - t0);
  }
  const matrixMs = median(times);

  return {
    rows: [
      { metric: "cluster", value: `${pods} pods, ${policies} policies` },
      { metric: "build world (compile + index)", value: buildMs, unit: "ms" },
      { metric: "verdicts/s (cold caches)", value: Math.round(coldRate), unit: "flows/s" },
      { metric: "verdicts/s (median of 5)", value: Math.round(verdictsPerSecond), unit: "flows/s" },
      {
        metric: `matrix ${matrixPods} pods x 1 port`,
        value: matrixMs,
        unit: "ms",
        note: `${cells} cells, median of 3`,
      },
    ],
    figures: {
      pods,
      policies,
      buildMs: Math.round(buildMs),
      coldVerdictsPerSecond: Math.round(coldRate),
      verdictsPerSecond: Math.round(verdictsPerSecond),
      matrixPods,
      matrixMs: Math.round(matrixMs),
      matrixCells: cells,
    },
  };
}
