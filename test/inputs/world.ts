// Real-world manifests as text, through the real loader and policy layer.
import assert from "node:assert/strict";
import { parseManifests } from "../../src/model/index.ts";
import { resolvePeer } from "../../src/policy/flow.ts";
import type { Protocol } from "../../src/policy/types.ts";
import { buildWorld, type World } from "../../src/policy/world.ts";

export function worldOf(yaml: string): World {
  const result = parseManifests(yaml, "test.yaml");
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors, null, 2));
  return buildWorld(result.resources);
}

/** Asserts one flow's verdict with a message naming the flow. */
export function expectFlow(
  world: World,
  from: string,
  to: string,
  port: number,
  expected: "allow" | "deny",
  protocol: Protocol = "TCP",
): void {
  const v = world.evaluator.evaluate({
    source: resolvePeer(world.cluster, from, "from"),
    destination: resolvePeer(world.cluster, to, "to"),
    port,
    protocol,
  });
  const got = v.allowed ? "allow" : "deny";
  assert.equal(
    got,
    expected,
    `${from} -> ${to} ${port}/${protocol}: expected ${expected}, got ${got}`,
  );
}
