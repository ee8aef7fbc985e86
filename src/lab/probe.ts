// What to probe and how many at once.

import type { LabPlan, PortSpec, Protocol } from "./topology.ts";

export interface ProbeSpec {
  /** Pod names. */
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  /** Address family of the destination address; 4 by default. */
  family?: 4 | 6;
}

export interface MatrixProbeOptions {
  /** The lab's served ports by default. */
  ports?: readonly PortSpec[];
  families?: readonly (4 | 6)[];
  /** Only probes from (to) these pods; every pod by default. */
  from?: readonly string[];
  to?: readonly string[];
}

/**
 * Every pod to every other pod, per port and family, in `microseg matrix`'s order (port, then
 * source, then destination, names sorted). A pod is never probed from itself: that traffic
 * stays inside its netns, where no node's ruleset sees it.
 */
export function matrixProbes(plan: LabPlan, opts: MatrixProbeOptions = {}): ProbeSpec[] {
  const names = plan.pods.map((p) => p.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of [...(opts.from ?? []), ...(opts.to ?? [])]) {
    if (!names.includes(name)) throw new Error(`lab ${plan.id} has no pod ${name}`);
  }
  const from = opts.from ?? names;
  const to = opts.to ?? names;
  const families = opts.families ?? [4];
  return (opts.ports ?? plan.ports).flatMap(({ port, protocol }) =>
    from.flatMap((f) =>
      to
        .filter((t) => t !== f)
        .flatMap((t) => families.map((family) => ({ from: f, to: t, port, protocol, family }))),
    ),
  );
}

/** Maps items with at most `limit` calls in flight, keeping the input order in the result. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
