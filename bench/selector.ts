// Selector language throughput on a generated cluster: predicate evaluations, LabelIndex
// build and lookups, and the index against a linear scan for the same question.
// `npm run bench -- selector [--endpoints N] [--selectors M] [--rounds R] [--json]`
import {
  andSelectors,
  compileSelector,
  equalsSelector,
  LabelIndex,
  type Labels,
  type Predicate,
  parseSelector,
  type SelectorAst,
} from "../src/selector/index.ts";
import { type BenchArgs, type BenchReport, intArg, median, nowMs, rng } from "./lib.ts";

type SelectorId = string & { readonly __brand: "SelectorId" };
type EndpointId = string & { readonly __brand: "EndpointId" };

const TIERS = ["frontend", "backend", "db", "cache"];
const ENVS = ["prod", "staging", "dev", "test"];
const REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-east-2", "us-west-2", "ap-south-1"];
const COMPONENTS = ["api", "worker", "web", "scheduler", "ingest", "auth", "search", "billing"];
const APPS_PER_NAMESPACE = 10;
const TEAMS = 20;

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// About a thousand pods per namespace and a hundred per app, as in a large cluster.
function namespaceCount(endpoints: number): number {
  return Math.max(1, Math.round(endpoints / 1000));
}

/** Pod-like label sets with Calico's namespace labels (projectcalico.org/namespace, pcns.*). */
function makeEndpoints(n: number, g: Gen): Labels[] {
  const namespaces = namespaceCount(n);
  const out: Labels[] = [];
  for (let i = 0; i < n; i++) {
    const ns = g.int(namespaces);
    const labels: Record<string, string> = {
      app: `app-${ns * APPS_PER_NAMESPACE + g.int(APPS_PER_NAMESPACE)}`,
      component: g.pick(COMPONENTS),
      tier: g.pick(TIERS),
      env: ENVS[ns % ENVS.length]!,
      region: g.pick(REGIONS),
      version: `v${1 + g.int(5)}`,
      "pod-template-hash": g.int(1 << 30).toString(16),
      "projectcalico.org/namespace": `ns-${ns}`,
      "pcns.team": `team-${ns % TEAMS}`,
      "pcns.kubernetes.io/metadata.name": `ns-${ns}`,
    };
    if (g.chance(0.05)) labels.canary = "true";
    if (g.chance(0.1)) labels["statefulset.kubernetes.io/pod-name"] = `sts-${i}`;
    out.push(labels);
  }
  return out;
}

/**
 * Policy-like selectors. Most belong to namespaced policies and are scoped to their namespace
 * the way the policy layer scopes them; a tenth are global (team- or app-wide), and one in a
 * hundred has no required label at all, the index's worst case.
 */
function makeSelectors(m: number, endpoints: number, g: Gen): SelectorAst[] {
  const namespaces = namespaceCount(endpoints);
  const out: SelectorAst[] = [];
  for (let i = 0; i < m; i++) {
    const ns = g.int(namespaces);
    const app = () => `'app-${ns * APPS_PER_NAMESPACE + g.int(APPS_PER_NAMESPACE)}'`;
    const scoped: (() => string)[] = [
      () => `app == ${app()}`,
      () => `app == ${app()} && tier == '${g.pick(TIERS)}'`,
      () =>
        `tier in {'${g.pick(TIERS)}', '${g.pick(TIERS)}'} && component != '${g.pick(COMPONENTS)}'`,
      () => `has(canary) && app == ${app()}`,
      () => `app == ${app()} || app == ${app()}`,
      () => `component in {'${g.pick(COMPONENTS)}', '${g.pick(COMPONENTS)}'} && !has(canary)`,
      () => `app == ${app()} && version != 'v1'`,
      () =>
        `(component == '${g.pick(COMPONENTS)}' || has(statefulset.kubernetes.io/pod-name)) && region == '${g.pick(REGIONS)}'`,
      () => "all()",
    ];
    const global: (() => string)[] = [
      () =>
        `pcns.team == 'team-${g.int(TEAMS)}' && tier == '${g.pick(TIERS)}' && component == '${g.pick(COMPONENTS)}'`,
      () => `app in {${app()}, ${app()}} && env == '${ENVS[ns % ENVS.length]}'`,
      () => `has(canary) && region == '${g.pick(REGIONS)}' && env != 'prod'`,
    ];
    const roll = g.next();
    if (roll < 0.01)
      out.push(parseSelector(`env != '${g.pick(ENVS)}' && version == 'v${1 + g.int(5)}'`));
    else if (roll < 0.1) out.push(parseSelector(g.pick(global)()));
    else {
      const ns_ = equalsSelector("projectcalico.org/namespace", `ns-${ns}`);
      out.push(andSelectors(parseSelector(g.pick(scoped)()), ns_));
    }
  }
  return out;
}

/** Runs fn for `rounds` rounds of `ops` operations each; median operations per second. */
function opsPerSec(rounds: number, ops: number, fn: (round: number) => void): number {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowMs();
    fn(r);
    rates.push(ops / ((nowMs() - t0) / 1000));
  }
  return median(rates);
}

// Results feed this module-level sink so the JIT cannot drop the work being measured.
let sink = 0;

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const nEndpoints = intArg(args, "endpoints", 100_000);
  const nSelectors = intArg(args, "selectors", 10_000);
  const rounds = intArg(args, "rounds", 5);
  const g = new Gen(rng(42));
  const endpoints = makeEndpoints(nEndpoints, g);
  const selectors = makeSelectors(nSelectors, nEndpoints, g);
  const predicates: Predicate[] = selectors.map(compileSelector);
  const eids = Array.from({ length: nEndpoints }, (_, i) => `ep-${i}` as EndpointId);
  const sids = Array.from({ length: nSelectors }, (_, i) => `sel-${i}` as SelectorId);

  // Evaluations: every selector against a rotating window of endpoints.
  const perRoundEvals = 2_000_000;
  const window = Math.max(1, Math.floor(perRoundEvals / nSelectors));
  const evalsPerSec = opsPerSec(rounds, window * nSelectors, (r) => {
    const base = (r * 7919) % nEndpoints;
    for (let s = 0; s < nSelectors; s++) {
      const p = predicates[s]!;
      for (let k = 0; k < window; k++) if (p(endpoints[(base + s + k) % nEndpoints]!)) sink++;
    }
  });

  // Build: endpoints arrive first (datastore sync), then the policies' selectors.
  const index = new LabelIndex<SelectorId, EndpointId>({
    onMatchStarted: () => sink++,
    onMatchStopped: () => sink--,
  });
  const t0 = nowMs();
  for (let i = 0; i < nEndpoints; i++) index.upsertEndpoint(eids[i]!, endpoints[i]!);
  const t1 = nowMs();
  for (let i = 0; i < nSelectors; i++) index.upsertSelector(sids[i]!, selectors[i]!);
  const t2 = nowMs();
  let pairs = 0;
  for (let i = 0; i < nSelectors; i++) pairs += index.endpointsMatching(sids[i]!).size;

  const lookups = 1_000_000;
  const endpointsMatchingPerSec = opsPerSec(rounds, lookups, (r) => {
    for (let i = 0; i < lookups; i++)
      sink += index.endpointsMatching(sids[(i * 31 + r) % nSelectors]!).size;
  });
  const selectorsMatchingPerSec = opsPerSec(rounds, lookups, (r) => {
    for (let i = 0; i < lookups; i++)
      sink += index.selectorsMatching(eids[(i * 31 + r) % nEndpoints]!).size;
  });

  // The same question answered from postings (queryEndpoints) and by scanning every endpoint.
  const queries = Math.min(200, nSelectors);
  const queryEndpointsPerSec = opsPerSec(rounds, queries, (r) => {
    for (let q = 0; q < queries; q++)
      sink += index.queryEndpoints(selectors[(q * 37 + r) % nSelectors]!).length;
  });
  const scans = Math.min(20, nSelectors);
  const scanEndpointsPerSec = opsPerSec(rounds, scans, (r) => {
    for (let q = 0; q < scans; q++) {
      const p = predicates[(q * 37 + r) % nSelectors]!;
      for (let e = 0; e < nEndpoints; e++) if (p(endpoints[e]!)) sink++;
    }
  });
  const querySelectorsPerSec = opsPerSec(rounds, 2000, (r) => {
    for (let q = 0; q < 2000; q++)
      sink += index.querySelectors(endpoints[(q * 53 + r) % nEndpoints]!).length;
  });
  const scanSelectorsPerSec = opsPerSec(rounds, 200, (r) => {
    for (let q = 0; q < 200; q++) {
      const labels = endpoints[(q * 53 + r) % nEndpoints]!;
      for (let s = 0; s < nSelectors; s++) if (predicates[s]!(labels)) sink++;
    }
  });

  // Churn: an endpoint relabelled (new pod template hash and version), as in a rollout.
  const churn = 20_000;
  const relabelsPerSec = opsPerSec(rounds, churn, (r) => {
    for (let i = 0; i < churn; i++) {
      const id = (i * 7 + r * churn) % nEndpoints;
      index.upsertEndpoint(eids[id]!, {
        ...endpoints[id]!,
        version: `v${1 + ((r + i) % 5)}`,
        "pod-template-hash": `r${r}`,
      });
    }
  });

  const buildMs = t2 - t0;
  const indexVsScanRatio = queryEndpointsPerSec / scanEndpointsPerSec;
  const selectorIndexVsScanRatio = querySelectorsPerSec / scanSelectorsPerSec;
  const figures = {
    endpoints: nEndpoints,
    selectors: nSelectors,
    matchPairs: pairs,
    evalsPerSec: Math.round(evalsPerSec),
    indexBuildMs: Math.round(buildMs),
    indexEndpointsMs: Math.round(t1 - t0),
    indexSelectorsMs: Math.round(t2 - t1),
    endpointsMatchingPerSec: Math.round(endpointsMatchingPerSec),
    selectorsMatchingPerSec: Math.round(selectorsMatchingPerSec),
    queryEndpointsPerSec: Math.round(queryEndpointsPerSec),
    scanEndpointsPerSec: Math.round(scanEndpointsPerSec),
    indexVsScanRatio: Math.round(indexVsScanRatio * 10) / 10,
    querySelectorsPerSec: Math.round(querySelectorsPerSec),
    scanSelectorsPerSec: Math.round(scanSelectorsPerSec),
    selectorIndexVsScanRatio: Math.round(selectorIndexVsScanRatio * 10) / 10,
    relabelsPerSec: Math.round(relabelsPerSec),
  };
  const rows = [
    {
      metric: "selector evaluations",
      value: figures.evalsPerSec,
      unit: "/s",
      note: `median of ${rounds} rounds`,
    },
    {
      metric: "index build",
      value: figures.indexBuildMs,
      unit: "ms",
      note: `${nEndpoints} endpoints then ${nSelectors} selectors`,
    },
    { metric: "  endpoints phase", value: figures.indexEndpointsMs, unit: "ms" },
    {
      metric: "  selectors phase",
      value: figures.indexSelectorsMs,
      unit: "ms",
      note: `${pairs} matching pairs`,
    },
    {
      metric: "endpointsMatching",
      value: figures.endpointsMatchingPerSec,
      unit: "/s",
      note: "maintained set",
    },
    {
      metric: "selectorsMatching",
      value: figures.selectorsMatchingPerSec,
      unit: "/s",
      note: "maintained set",
    },
    {
      metric: "queryEndpoints (postings)",
      value: figures.queryEndpointsPerSec,
      unit: "/s",
      note: "unregistered selector",
    },
    {
      metric: "scan all endpoints",
      value: figures.scanEndpointsPerSec,
      unit: "/s",
      note: "same question",
    },
    {
      metric: "indexVsScanRatio",
      value: figures.indexVsScanRatio,
      unit: "x",
      note: "queryEndpoints / scan",
    },
    {
      metric: "querySelectors (postings)",
      value: figures.querySelectorsPerSec,
      unit: "/s",
      note: "labels -> selectors",
    },
    {
      metric: "scan all selectors",
      value: figures.scanSelectorsPerSec,
      unit: "/s",
      note: "same question",
    },
    { metric: "selectorIndexVsScanRatio", value: figures.selectorIndexVsScanRatio, unit: "x" },
    {
      metric: "endpoint relabels",
      value: figures.relabelsPerSec,
      unit: "/s",
      note: "incremental, with callbacks",
    },
  ];
  return { rows, figures };
}
