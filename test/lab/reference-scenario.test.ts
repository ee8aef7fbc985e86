// The reference scenario (examples/segmented-apps) across two nodes: real packets, IPv4 and
// IPv6, through the node agents' rulesets give exactly `microseg matrix`'s verdicts. Then every component scales
// up and down - new pods at new addresses, some on the other node, old ones removed - with no
// policy change, and the packets still agree with the offline matrix after every step.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { reachabilityMatrix } from "../../src/analysis/matrix.ts";
import { Lab } from "../../src/lab/index.ts";
import { loadManifests, type Pod, type Resource } from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/world.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { probeExpecting } from "./expect-cells.ts";

const example = join(import.meta.dirname, "../../examples/segmented-apps");

async function load(paths: string[]): Promise<Resource[]> {
  const result = await loadManifests(paths);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.resources;
}

const isPod = (r: Resource): r is Pod => r.apiVersion === "v1" && r.kind === "Pod";

/**
 * The example with each component at the given replica numbers. Replicas 0 and 1 are the
 * example's own pods; a higher one copies replica (n mod 2) - labels included, so some new
 * creditCheck replicas carry region-check and some do not - with no address (the lab
 * allocates one) and, for odd n, pinned to node-1 while even ones go round-robin.
 */
function scaled(base: Resource[], replicas: number[]): Resource[] {
  const pods = base.filter(isPod);
  const components = [...new Set(pods.map((p) => p.metadata.name.replace(/-\d+$/, "")))];
  const out: Resource[] = base.filter((r) => !isPod(r));
  for (const component of components) {
    for (const n of replicas) {
      const name = `${component}-${n}`;
      const template = pods.find((p) => p.metadata.name === `${component}-${n % 2}`)!;
      if (n < 2) {
        out.push(template);
        continue;
      }
      const { nodeName: _, ...spec } = template.spec;
      out.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { ...template.metadata, name },
        spec: n % 2 === 1 ? { ...spec, nodeName: "node-1" } : spec,
      });
    }
  }
  return out;
}

const steps: [string, number[]][] = [
  ["scale every component up to 4", [0, 1, 2, 3]],
  ["replace replica 0 by a new one", [1, 2, 3, 4]],
  ["scale every component down to 1", [4]],
  ["scale every component up to 3 again", [4, 5, 6]],
];

describe("reference scenario: segmented apps on two nodes", { skip: rootSkipReason() }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-reference-"));
  let base: Resource[];
  let lab: Lab;

  before(async () => {
    base = await load([example]);
    lab = await Lab.upFromManifests(base, { stateDir, nodes: 2 });
  });
  after(() => {
    lab?.down();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** The matrix `microseg matrix` prints for the lab's manifests, against real packets. */
  async function assertPacketsMatchMatrix(): Promise<void> {
    const world = buildWorld(await load([lab.manifestsPath!]));
    const matrix = reachabilityMatrix(world.cluster, world.evaluator);
    assert.deepEqual(
      [...matrix.workloads],
      lab.plan.pods.map((p) => p.name).sort(),
      "the matrix's workloads are the lab's pods",
    );
    // The policies name no address, so a verdict holds for both families: IPv6 packets must
    // get the IPv4 matrix's verdicts too.
    const cells = matrix.results
      .filter((c) => c.from !== c.to)
      .flatMap((c) =>
        ([4, 6] as const).map((family) => ({
          from: c.from,
          to: c.to,
          port: c.port,
          protocol: c.protocol as "TCP",
          family,
          expected: c.allowed,
        })),
      );
    const allowed = cells.filter((c) => c.expected).length;
    assert.ok(allowed > 0 && allowed < cells.length, "some paths open, others closed");
    const { wrong } = await probeExpecting(lab, cells);
    assert.deepEqual(wrong, []);
  }

  test("the probe matrix equals microseg matrix", async () => {
    assert.equal(lab.plan.pods.length, 18);
    assert.deepEqual(
      lab.plan.nodes.map((n) => n.name),
      ["node-1", "node-2"],
    );
    await assertPacketsMatchMatrix();
  });

  for (const [name, replicas] of steps) {
    test(`${name}: the probe matrix still equals microseg matrix`, async () => {
      const before = new Map(lab.plan.pods.map((p) => [p.name, p.ip]));
      const report = await lab.applyManifests(scaled(base, replicas));
      const now = lab.plan.pods;
      assert.equal(now.length, 9 * replicas.length);
      for (const p of now.filter((p) => !before.has(p.name))) {
        assert.ok(![...before.values()].includes(p.ip), `${p.name} got a new address`);
      }
      assert.ok(report.added.length + report.removed.length > 0);
      assert.ok(
        new Set(now.map((p) => p.node)).size === 2 || replicas.length === 1,
        "pods on both nodes",
      );
      await assertPacketsMatchMatrix();
    });
  }
});
