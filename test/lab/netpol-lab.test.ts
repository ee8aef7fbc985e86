// Every case of the upstream Kubernetes NetworkPolicy corpus with real packets: one lab of two
// nodes, node agents enforcing each step's manifests, and every cell of the step probed in one
// parallel batch. The truth-table cases share their 9 pods (x/y/z x a/b/c), so a step changes
// only labels and policies; the legacy cases bring their own pods, which come and go by apply.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Lab } from "../../src/lab/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { probeExpecting } from "./expect-cells.ts";
import { netpolSteps } from "./netpol-corpus.ts";

describe("k8s-netpol corpus with real packets", { skip: rootSkipReason() }, () => {
  const steps = netpolSteps();
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-netpol-"));
  const timing = { up: 0, apply: 0, probe: 0, cells: 0, retried: 0 };
  let lab: Lab;

  before(async () => {
    const started = performance.now();
    lab = await Lab.upFromManifests(steps[0]!.resources, { stateDir, nodes: 2 });
    timing.up = performance.now() - started;
  });
  after(() => {
    lab?.down();
    rmSync(stateDir, { recursive: true, force: true });
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `netpol lab: ${steps.length} steps, ${timing.cells} cells; up ${s(timing.up)}, ` +
        `apply ${s(timing.apply)}, probe ${s(timing.probe)}; ${timing.retried} cells retried`,
    );
  });

  for (const step of steps) {
    test(step.name, async () => {
      let started = performance.now();
      await lab.applyManifests(step.resources);
      timing.apply += performance.now() - started;
      started = performance.now();
      const { wrong, retried } = await probeExpecting(lab, step.cells);
      timing.probe += performance.now() - started;
      timing.cells += step.cells.length;
      timing.retried += retried;
      assert.deepEqual(wrong, []);
    });
  }
});
