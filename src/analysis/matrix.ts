// The reachability matrix: every ordered pair of workloads, for every port, judged offline.
import type { Cluster, Endpoint, Evaluator, PortProtocol, Protocol } from "../policy/index.ts";

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

export function reachabilityMatrix(
  cluster: Cluster,
  evaluator: Evaluator,
  ports?: readonly PortProtocol[],
): Matrix {
  const workloads = cluster.workloads().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const portList = ports ?? declaredPorts(workloads);
  const peers = workloads.map((w) => cluster.peerOf(w));
  const results: MatrixCell[] = [];
  for (const { port, protocol } of portList) {
    workloads.forEach((from, i) => {
      const source = peers[i]!;
      workloads.forEach((to, j) => {
        const destination = peers[j]!;
        const v = evaluator.evaluate({ source, destination, port, protocol });
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
    });
  }
  return { workloads: workloads.map((w) => w.id), ports: portList, results };
}
