// Probe results in the shape `microseg matrix` prints, so the two compare cell by cell.

import type { ProbeResult } from "./lab.ts";
import type { ProbeOutcome } from "./protocol.ts";
import type { PortSpec, Protocol } from "./topology.ts";

/**
 * One observed cell. A packet shows only whether the connection got through, not which side's
 * policy stopped it, so `egress` and `ingress` are always null here.
 */
export interface ObservedCell {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
  egress: null;
  ingress: null;
  outcome: ProbeOutcome;
  ms: number;
}

export interface ObservedMatrix {
  /** Every pod of the lab, sorted as `microseg matrix` sorts workloads. */
  workloads: string[];
  ports: PortSpec[];
  results: ObservedCell[];
}

export function observedMatrix(
  pods: readonly string[],
  results: readonly ProbeResult[],
): ObservedMatrix {
  const ports = new Map<string, PortSpec>();
  for (const r of results)
    ports.set(`${r.protocol}/${r.port}`, { port: r.port, protocol: r.protocol });
  return {
    workloads: [...pods].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    ports: [...ports.values()],
    results: results.map((r) => ({
      from: r.from,
      to: r.to,
      port: r.port,
      protocol: r.protocol,
      allowed: r.allowed,
      egress: null,
      ingress: null,
      outcome: r.outcome,
      ms: r.ms,
    })),
  };
}
