// `npm run bench -- cost`: the pool model against microseg for N interacting functions
// (src/analysis/cost-growth.ts). The pool model is computed by `cost` (every pool pair judged)
// up to --computed-up-to functions and taken from its closed form beyond (checked equal in
// test/analysis/cost.test.ts); microseg's table is rendered up to --render-up-to functions.
import { cost, microsegTableSize } from "../src/analysis/cost.ts";
import { growthPoolModel, growthScenario } from "../src/analysis/cost-growth.ts";
import { type BenchArgs, type BenchReport, intArg, nowMs } from "./lib.ts";

export default async function run(args: BenchArgs): Promise<BenchReport> {
  const computedUpTo = intArg(args, "computed-up-to", 10);
  const renderUpTo = intArg(args, "render-up-to", 100);
  const rows: BenchReport["rows"] = [];
  const figures: BenchReport["figures"] = {};
  for (const n of [10, 100, 1000]) {
    const t0 = nowMs();
    const pools =
      n <= computedUpTo
        ? (({ pools, firewallSets }) => ({ pools, firewallSets }))(cost(growthScenario(n)))
        : growthPoolModel(n);
    const table = n <= renderUpTo ? microsegTableSize(growthScenario(n)) : undefined;
    const how = n <= computedUpTo ? "computed" : "closed form";
    rows.push(
      {
        metric: `${n} functions: address pools`,
        value: pools.pools,
        unit: "pools",
        note: `${how}; ${n * n} workloads`,
      },
      {
        metric: `${n} functions: firewall sets (= rules, one port)`,
        value: pools.firewallSets,
        unit: "sets",
        note: how,
      },
      {
        metric: `${n} functions: microseg policies`,
        value: n,
        unit: "policies",
      },
      {
        metric: `${n} functions: microseg table`,
        value: table ? `${table.sets} / ${table.rules} / ${table.elements}` : "not rendered",
        unit: "sets / rules / elements",
        note: table
          ? `one node holding all ${n * n} workloads; ${Math.round(nowMs() - t0)} ms`
          : `${n * n} workloads is beyond --render-up-to ${renderUpTo}`,
      },
    );
    Object.assign(figures, {
      [`pools${n}`]: pools.pools,
      [`firewallSets${n}`]: pools.firewallSets,
      ...(table
        ? { [`sets${n}`]: table.sets, [`rules${n}`]: table.rules, [`elements${n}`]: table.elements }
        : {}),
    });
  }
  return { rows, figures };
}
