// The reachability matrix: every ordered pair of workloads, for every port, judged offline.
import type {
  Cluster,
  Endpoint,
  Evaluator,
  PortProtocol,
  Protocol,
  Verdict,
} from "../policy/index.ts";
import { compileSelector, tryParseSelector } from "../selector/index.ts";

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

/** Every ordered (row, column) pair for every port, in row-major order per port. */
function forEachCell(
  cluster: Cluster,
  evaluator: Evaluator,
  s: Sides,
  visit: (from: Endpoint, to: Endpoint, port: PortProtocol, v: Verdict) => void,
): void {
  const rowPeers = s.rows.map((w) => cluster.peerOf(w));
  const columnPeers = s.columns.map((w) => cluster.peerOf(w));
  for (const pp of s.ports) {
    s.rows.forEach((from, i) => {
      const source = rowPeers[i]!;
      s.columns.forEach((to, j) => {
        const destination = columnPeers[j]!;
        visit(from, to, pp, evaluator.evaluate({ source, destination, ...pp }));
      });
    });
  }
}

export function reachabilityMatrix(
  cluster: Cluster,
  evaluator: Evaluator,
  ports?: readonly PortProtocol[],
  filter: MatrixFilter = {},
): Matrix {
  const s = sides(cluster, ports, filter);
  const results: MatrixCell[] = [];
  forEachCell(cluster, evaluator, s, (from, to, { port, protocol }, v) => {
    results.push({
      from: from.id,
      to: to.id,
      port,
      protocol,
      allowed: v.allowed,
      egress: v.egress.allowed,
      ingress: v.ingress.allowed,
    });
  });
  const ids = new Set([...s.rows, ...s.columns].map((w) => w.id));
  return {
    workloads: s.workloads.filter((w) => ids.has(w.id)).map((w) => w.id),
    ports: s.ports,
    results,
  };
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

/**
 * The matrix folded per (source namespace, destination namespace, port): what a reader of a
 * 5,000-pod cluster can take in. Cells are counted as judged, never stored.
 */
export function namespaceSummary(
  cluster: Cluster,
  evaluator: Evaluator,
  ports?: readonly PortProtocol[],
  filter: MatrixFilter = {},
): NamespacePairCount[] {
  const counts = new Map<string, { allowed: number; denied: number; key: NamespacePairCount }>();
  forEachCell(cluster, evaluator, sides(cluster, ports, filter), (from, to, pp, v) => {
    const fromNs = from.namespace ?? "";
    const toNs = to.namespace ?? "";
    const key = `${fromNs}\u0000${toNs}\u0000${pp.protocol}\u0000${pp.port}`;
    let c = counts.get(key);
    if (!c) {
      c = { allowed: 0, denied: 0, key: { from: fromNs, to: toNs, ...pp, allowed: 0, denied: 0 } };
      counts.set(key, c);
    }
    if (v.allowed) c.allowed++;
    else c.denied++;
  });
  return [...counts.values()]
    .map((c) => ({ ...c.key, allowed: c.allowed, denied: c.denied }))
    .sort(byFromToPort);
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
