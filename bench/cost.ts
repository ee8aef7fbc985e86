// `npm run bench -- cost`: the pool model against microseg.
// 1. Speed: the pool model on generated clusters (--speed-pods, 1000 and 5000 by default),
//    its firewall sets judged per peer class (src/analysis/cost.ts) against the baseline of
//    judging every pool pair with the evaluator, in the same process on the same world; medians
//    of --rounds runs each (the baseline is run --baseline-rounds times: it is the slow one).
// 2. Growth: N interacting functions (src/analysis/cost-growth.ts) for 10, 100 and 1,000: the
//    pool model computed up to --computed-up-to functions (checked against its closed form)
//    and taken from the closed form beyond; microseg's policy table rendered up to
//    --render-up-to functions.
import { readFileSync } from "node:fs";
import { cost, microsegTableSize, poolModel } from "../src/analysis/cost.ts";
import { growthPoolModel, growthScenario } from "../src/analysis/cost-growth.ts";
import { declaredPorts } from "../src/analysis/matrix.ts";
import { buildWorld, type World } from "../src/policy/index.ts";
import { generateCluster } from "./cluster-gen.ts";
import { type BenchArgs, type BenchReport, intArg, medianTimeMs, nowMs } from "./lib.ts";

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** The baseline: every pool pair across segments judged by the evaluator, port by port. */
function everyPairJudged(world: World, pools: ReturnType<typeof poolModel>["poolList"]): number {
  const members = pools.map((p) => p.workloads.map((id) => world.cluster.endpoint(id)!));
  const peers = members.map((m) => world.cluster.peerOf(m[0]!));
  const ports = members.map((m) => declaredPorts(m));
  let sets = 0;
  pools.forEach((from, i) => {
    pools.forEach((to, j) => {
      if (from.segment === to.segment) return;
      const judged = { source: peers[i]!, destination: peers[j]! };
      if (ports[j]!.some((pp) => world.evaluator.evaluate({ ...judged, ...pp }).allowed)) sets++;
    });
  });
  return sets;
}

function speed(args: BenchArgs, rows: BenchReport["rows"], figures: BenchReport["figures"]) {
  const rounds = intArg(args, "rounds", 3);
  const baselineRounds = intArg(args, "baseline-rounds", 1);
  const sizes = String(args["speed-pods"] ?? "1000,5000")
    .split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  for (const pods of sizes) {
    const resources = generateCluster({
      pods,
      namespaces: Math.max(1, Math.floor(pods / 50)),
      policies: Math.floor(pods / 10),
    });
    const world = buildWorld(resources);
    let model = poolModel(world, resources);
    const perClass = medianTimeMs(rounds, () => {
      model = poolModel(world, resources);
    });
    let baselineSets = 0;
    const baseline = medianTimeMs(baselineRounds, () => {
      baselineSets = everyPairJudged(world, model.poolList);
    });
    if (baselineSets !== model.firewallSets)
      throw new Error(
        `${pods} pods: ${baselineSets} sets judged pair by pair, ${model.firewallSets} by class`,
      );
    rows.push(
      {
        metric: `${pods} pods: pool model, pairs per class`,
        value: Math.round(perClass),
        unit: "ms",
        note: `median of ${rounds}; ${model.pools} pools, ${model.firewallSets} firewall sets`,
      },
      {
        metric: `${pods} pods: baseline, every pool pair judged`,
        value: Math.round(baseline),
        unit: "ms",
        note: `median of ${baselineRounds}; same sets; ${(baseline / perClass).toFixed(1)}x slower`,
      },
    );
    Object.assign(figures, {
      [`perClassMs${pods}`]: Math.round(perClass),
      [`everyPairMs${pods}`]: Math.round(baseline),
      [`speedup${pods}`]: Number((baseline / perClass).toFixed(1)),
    });
  }
}

function growth(args: BenchArgs, rows: BenchReport["rows"], figures: BenchReport["figures"]) {
  const computedUpTo = intArg(args, "computed-up-to", 100);
  const renderUpTo = intArg(args, "render-up-to", 100);
  for (const n of [10, 100, 1000]) {
    const closed = growthPoolModel(n);
    const t0 = nowMs();
    const computed = n <= computedUpTo ? cost(growthScenario(n)) : undefined;
    const ms = Math.round(nowMs() - t0);
    if (
      computed &&
      (computed.pools !== closed.pools || computed.firewallSets !== closed.firewallSets)
    )
      throw new Error(
        `${n} functions: computed ${computed.pools}/${computed.firewallSets} pools/sets, closed form ${closed.pools}/${closed.firewallSets}`,
      );
    const table = computed ?? (n <= renderUpTo ? microsegTableSize(growthScenario(n)) : undefined);
    const how = computed ? `computed in ${ms} ms (= closed form)` : "closed form";
    rows.push(
      {
        metric: `${n} functions: address pools`,
        value: closed.pools,
        unit: "pools",
        note: `${how}; ${n * n} workloads`,
      },
      {
        metric: `${n} functions: firewall sets (= rules, one port)`,
        value: closed.firewallSets,
        unit: "sets",
        note: how,
      },
      { metric: `${n} functions: microseg policies`, value: n, unit: "policies" },
      {
        metric: `${n} functions: microseg table`,
        value: table ? `${table.sets} / ${table.rules} / ${table.elements}` : "not rendered",
        unit: "sets / rules / elements",
        note: table
          ? `policy table, one node holding all ${n * n} workloads`
          : `${n * n} workloads is beyond --render-up-to ${renderUpTo}`,
      },
    );
    Object.assign(figures, {
      [`pools${n}`]: closed.pools,
      [`firewallSets${n}`]: closed.firewallSets,
      ...(table
        ? { [`sets${n}`]: table.sets, [`rules${n}`]: table.rules, [`elements${n}`]: table.elements }
        : {}),
      ...(computed ? { [`costMs${n}`]: ms } : {}),
    });
  }
}

export default async function run(args: BenchArgs): Promise<BenchReport> {
  const rows: BenchReport["rows"] = [];
  const figures: BenchReport["figures"] = { loadBefore: load() };
  speed(args, rows, figures);
  growth(args, rows, figures);
  figures.loadAfter = load();
  rows.push({
    metric: "load average (1, 5, 15 min)",
    value: `${figures.loadBefore} -> ${figures.loadAfter}`,
  });
  return { rows, figures };
}
