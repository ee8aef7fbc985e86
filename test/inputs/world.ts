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

/**
 * An apps/v1 controller's manifest as YAML: its template labelled `app: NAME`, one container
 * with these ports (`{containerPort: 8080, name: http}`, as written in a manifest).
 */
export function controllerYaml(
  kind: "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet",
  namespace: string,
  name: string,
  ports: readonly string[] = [],
): string {
  return `apiVersion: apps/v1
kind: ${kind}
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: ${name}, image: ${name}:1, ports: [${ports.join(", ")}]}]}
`;
}
