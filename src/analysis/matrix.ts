// The reachability matrix: every ordered pair of workloads, for every port, judged offline.
import type {
  Cluster,
  Endpoint,
  Evaluator,
  FlowPeer,
  PortProtocol,
  Protocol,
  Verdict,
} from "../policy/index.ts";
import { compileSelector, tryParseSelector } from "../selector/index.ts";
import { VerdictClasses } from "./verdict-classes.ts";

export type { PortProtocol } from "../policy/types.ts";

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly allowed: boolean;
  readonly egress: boolean;
  readonly ingress: boolean;
}

export interface Matrix {
  readonly workloads: readonly string[];
  readonly ports: readonly PortProtocol[];
  readonly results: readonly MatrixCell[];
}

export class PortListError extends Error {
  readonly code = "matrix.ports";
}

/** `80/TCP,53/UDP,81` (protocol defaults to TCP). */
export function parsePortList(text: string): PortProtocol[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((item) => {
      const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(item);
      const port = m ? Number(m[1]) : Number.NaN;
      if (!m || port < 1 || port > 65535) {
        throw new PortListError(`--ports: "${item}" is not PORT[/TCP|UDP|SCTP] with PORT 1-65535`);
      }
      return { port, protocol: (m[2]?.toUpperCase() ?? "TCP") as Protocol };
    });
}

/** Every (port, protocol) a workload declares, sorted by protocol then port. */
export function declaredPorts(workloads: readonly Endpoint[]): PortProtocol[] {
  const seen = new Map<string, PortProtocol>();
  for (const w of workloads) {
    for (const p of w.containerPorts)
      seen.set(`${p.protocol}/${p.port}`, { port: p.port, protocol: p.protocol });
  }
  return [...seen.values()].sort((a, b) =>
    a.protocol === b.protocol ? a.port - b.port : String(a.protocol) < String(b.protocol) ? -1 : 1,
  );
}

/** Which workloads a matrix covers: a namespace, and selectors for the rows and the columns. */
export interface MatrixFilter {
  readonly namespace?: string;
  /** Calico selector text over the source workload's labels (rows). */
  readonly from?: string;
  /** The same over the destination's (columns). */
  readonly to?: string;
}

export class MatrixFilterError extends Error {
  readonly code = "matrix.filter";
}

function selectorFilter(field: string, text: string | undefined): (e: Endpoint) => boolean {
  if (text === undefined) return () => true;
  const parsed = tryParseSelector(text);
  if (!parsed.ok) throw new MatrixFilterError(`${field}: ${parsed.error.message}`);
  const matches = compileSelector(parsed.value);
  return (e) => matches(e.labels);
}

interface Sides {
  readonly workloads: Endpoint[];
  readonly rows: Endpoint[];
  readonly columns: Endpoint[];
  readonly ports: readonly PortProtocol[];
}

function sides(
  cluster: Cluster,
  ports: readonly PortProtocol[] | undefined,
  filter: MatrixFilter,
): Sides {
  const inNamespace = (e: Endpoint) =>
    filter.namespace === undefined || e.namespace === filter.namespace;
  const workloads = cluster
    .workloads()
    .filter(inNamespace)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const fromOk = selectorFilter("--from", filter.from);
  const toOk = selectorFilter("--to", filter.to);
  return {
    workloads,
    rows: workloads.filter(fromOk),
    columns: workloads.filter(toOk),
    ports: ports ?? declaredPorts(workloads),
  };
}

/** A row or column: the workload, the flow peer it is judged as, and its verdict class. */
interface Side {
  readonly endpoint: Endpoint;
  readonly peer: FlowPeer;
  readonly cls: number;
}

interface Classified {
  readonly rows: readonly Side[];
  readonly columns: readonly Side[];
  /** `portClass[i]` is the class of `ports[i]`. */
  readonly portClass: readonly number[];
}

function classify(cluster: Cluster, evaluator: Evaluator, s: Sides): Classified {
  const classes = new VerdictClasses(evaluator.program, cluster);
  const side = (endpoint: Endpoint): Side => {
    const peer = cluster.peerOf(endpoint);
    return { endpoint, peer, cls: classes.classOf({ ...peer, endpoint }) };
  };
  return {
    rows: s.rows.map(side),
    columns: s.columns.map(side),
    portClass: classes.portClasses(s.ports, [...s.rows, ...s.columns]),
  };
}

function judge(evaluator: Evaluator, from: Side, to: Side, pp: PortProtocol): Verdict {
  return evaluator.evaluate({ source: from.peer, destination: to.peer, ...pp });
}

/**
 * Every ordered (row, column) pair for every port, in row-major order per port. The first cell
 * of each (row class, column class, self or not, port class) is judged, the others take its
 * verdict (verdict-classes.ts says why they are the same).
 */
function forEachCell(
  cluster: Cluster,
  evaluator: Evaluator,
  s: Sides,
  visit: (from: Endpoint, to: Endpoint, port: PortProtocol, v: Verdict) => void,
): void {
  const c = classify(cluster, evaluator, s);
  // judged[port class][row class][column class * 2 + self]
  const judged: (Verdict | undefined)[][][] = [];
  s.ports.forEach((pp, i) => {
    const byRow = judged[c.portClass[i]!] ?? [];
    judged[c.portClass[i]!] = byRow;
    for (const from of c.rows) {
      const verdicts = byRow[from.cls] ?? [];
      byRow[from.cls] = verdicts;
      for (const to of c.columns) {
        const slot = to.cls * 2 + (from.endpoint.id === to.endpoint.id ? 1 : 0);
        let v = verdicts[slot];
        if (v === undefined) {
          v = judge(evaluator, from, to, pp);
          verdicts[slot] = v;
        }
        visit(from.endpoint, to.endpoint, pp, v);
      }
    }
  });
}

/** A matrix whose cells are handed out one by one, never held: a 5,000-pod grid has millions. */
export interface MatrixStream {
  readonly workloads: readonly string[];
  readonly ports: readonly PortProtocol[];
  /** Visits every cell in the order of `Matrix.results`. */
  forEach(visit: (cell: MatrixCell) => void): void;
}

export function matrixStream(
  cluster: Cluster,
  evaluator: Evaluator,
  ports?: readonly PortProtocol[],
  filter: MatrixFilter = {},
): MatrixStream {
  const s = sides(cluster, ports, filter);
  const ids = new Set([...s.rows, ...s.columns].map((w) => w.id));
  return {
    workloads: s.workloads.filter((w) => ids.has(w.id)).map((w) => w.id),
    ports: s.ports,
    forEach: (visit) =>
      forEachCell(cluster, evaluator, s, (from, to, { port, protocol }, v) =>
        visit({
          from: from.id,
          to: to.id,
          port,
          protocol,
          allowed: v.allowed,
          egress: v.egress.allowed,
          ingress: v.ingress.allowed,
        }),
      ),
  };
}

export function reachabilityMatrix(
  cluster: Cluster,
  evaluator: Evaluator,
  ports?: readonly PortProtocol[],
  filter: MatrixFilter = {},
): Matrix {
  const stream = matrixStream(cluster, evaluator, ports, filter);
  const results: MatrixCell[] = [];
  stream.forEach((cell) => {
    results.push(cell);
  });
  return { workloads: stream.workloads, ports: stream.ports, results };
}

/** Allowed and denied counts for one namespace pair and port. */
export interface NamespacePairCount {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly allowed: number;
  readonly denied: number;
}

/** Sides of one class, in first-seen order. */
function byClass(sides: readonly Side[]): Side[][] {
  const groups = new Map<number, Side[]>();
  for (const side of sides) {
    const group = groups.get(side.cls);
    if (group) group.push(side);
    else groups.set(side.cls, [side]);
  }
  return [...groups.values()];
}

/** Cells of one kind: judged once on `from` and `to`, counted `cells` times. */
type Judgement = readonly [from: Side, to: Side, cells: number];

/**
 * The cells of a row group and a column group (one class each): when the classes are the same,
 * the self cells (a workload and itself) and the cells pairing two workloads are judged apart.
 */
function pairsOf(rows: readonly Side[], columns: readonly Side[]): Judgement[] {
  const first = rows[0]!;
  const total = rows.length * columns.length;
  if (first.cls !== columns[0]!.cls) return [[first, columns[0]!, total]];
  const columnIds = new Set(columns.map((c) => c.endpoint.id));
  const both = rows.filter((r) => columnIds.has(r.endpoint.id));
  const out: Judgement[] = both.length > 0 ? [[both[0]!, both[0]!, both.length]] : [];
  if (total > both.length) {
    const other = columns.find((c) => c.endpoint.id !== first.endpoint.id);
    const pair: Judgement = other
      ? [first, other, total - both.length]
      : [rows.find((r) => r.endpoint.id !== first.endpoint.id)!, first, total - both.length];
    out.push(pair);
  }
  return out;
}

/**
 * The matrix folded per (source namespace, destination namespace, port): what a reader of a
 * 5,000-pod cluster can take in. Each pair of classes is judged once per port class and its
 * cells counted, never stored: the same counts as judging every cell (tested).
 */
export function namespaceSummary(
  cluster: Cluster,
  evaluator: Evaluator,
  ports?: readonly PortProtocol[],
  filter: MatrixFilter = {},
): NamespacePairCount[] {
  const s = sides(cluster, ports, filter);
  const c = classify(cluster, evaluator, s);
  const namespaces: string[] = [];
  const nsIndex = new Map<string, number>();
  const nsOf = (group: readonly Side[]) => {
    const ns = group[0]!.endpoint.namespace ?? "";
    let i = nsIndex.get(ns);
    if (i === undefined) {
      i = namespaces.push(ns) - 1;
      nsIndex.set(ns, i);
    }
    return i;
  };
  const rowGroups = byClass(c.rows).map((g) => ({ g, ns: nsOf(g) }));
  const columnGroups = byClass(c.columns).map((g) => ({ g, ns: nsOf(g) }));
  const n = namespaces.length;
  // Per distinct port (a port listed twice counts twice in one row, as judged): allowed and
  // denied per (source namespace * n + destination namespace).
  const distinct = new Map<string, number>();
  const slot = s.ports.map((pp) => {
    const key = `${pp.protocol}/${pp.port}`;
    if (!distinct.has(key)) distinct.set(key, distinct.size);
    return distinct.get(key)!;
  });
  const allowed = [...distinct.keys()].map(() => new Float64Array(n * n));
  const denied = [...distinct.keys()].map(() => new Float64Array(n * n));
  const portsOfClass = new Map<number, number[]>();
  c.portClass.forEach((pc, i) => {
    const list = portsOfClass.get(pc);
    if (list) list.push(i);
    else portsOfClass.set(pc, [i]);
  });
  const judgements: { readonly cell: number; readonly judgement: Judgement }[] = [];
  for (const row of rowGroups) {
    for (const column of columnGroups) {
      const cell = row.ns * n + column.ns;
      for (const judgement of pairsOf(row.g, column.g)) judgements.push({ cell, judgement });
    }
  }
  for (const portIndexes of portsOfClass.values()) {
    const pp = s.ports[portIndexes[0]!]!;
    const slots = portIndexes.map((i) => slot[i]!);
    for (const { cell, judgement } of judgements) {
      const [from, to, cells] = judgement;
      const into = judge(evaluator, from, to, pp).allowed ? allowed : denied;
      for (const k of slots) into[k]![cell]! += cells;
    }
  }
  const out: NamespacePairCount[] = [];
  s.ports.forEach((pp, p) => {
    const i = slot[p]!;
    if (slot.indexOf(i) !== p) return; // a port listed twice: its rows are written once
    for (let from = 0; from < n; from++) {
      for (let to = 0; to < n; to++) {
        const a = allowed[i]![from * n + to]!;
        const d = denied[i]![from * n + to]!;
        if (a + d > 0)
          out.push({ from: namespaces[from]!, to: namespaces[to]!, ...pp, allowed: a, denied: d });
      }
    }
  });
  return out.sort(byFromToPort);
}

/** Orders rows by source, then destination, then port: the summary's and the replay's order. */
export function byFromToPort(
  a: { readonly from: string; readonly to: string; readonly port: number },
  b: { readonly from: string; readonly to: string; readonly port: number },
): number {
  if (a.from !== b.from) return a.from < b.from ? -1 : 1;
  if (a.to !== b.to) return a.to < b.to ? -1 : 1;
  return a.port - b.port;
}

/** The summary as text: one line per namespace pair and port. */
export function formatSummary(rows: readonly NamespacePairCount[]): string {
  const header = ["FROM", "TO", "PORT", "ALLOWED", "DENIED"];
  const lines = rows.map((r) => [
    r.from,
    r.to,
    `${r.port}/${r.protocol}`,
    String(r.allowed),
    String(r.denied),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return `${[header, ...lines]
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]!))
        .join("   ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}
