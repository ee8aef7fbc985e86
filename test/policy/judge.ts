import { resolvePeer } from "../../src/policy/flow.ts";
import type { Protocol } from "../../src/policy/types.ts";
import type { World } from "../../src/policy/world.ts";

/** The combined verdict for one flow named the way corpus cases name them. */
export function allowed(
  world: World,
  from: string,
  to: string,
  port: number,
  protocol: string,
): boolean {
  const source = resolvePeer(world.cluster, from, "from");
  const destination = resolvePeer(world.cluster, to, "to");
  return world.evaluator.evaluate({ source, destination, port, protocol: protocol as Protocol })
    .allowed;
}
