// What to probe and how many at once.

import type { LabPlan, Protocol } from "./topology.ts";
import { allPods } from "./topology.ts";

export interface ProbeSpec {
  /** Pod names. */
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  /** Address family of the destination address; 4 by default. */
  family?: 4 | 6;
}

/** Every pod to every other pod, on every port the destination serves. */
export function matrixProbes(plan: LabPlan, families: (4 | 6)[] = [4]): ProbeSpec[] {
  const pods = allPods(plan);
  return pods.flatMap((from) =>
    pods
      .filter((to) => to.name !== from.name)
      .flatMap((to) =>
        to.ports.flatMap(({ port, protocol }) =>
          families.map((family) => ({ from: from.name, to: to.name, port, protocol, family })),
        ),
      ),
  );
}

/** Maps items with at most `limit` calls in flight, keeping the input order in the result. */
export async function mapBounded<T, R>(
  items: T[],
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
