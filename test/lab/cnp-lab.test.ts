// The ClusterNetworkPolicy conformance suite (test/conformance/cnp) with real packets: one lab
// of two nodes (host-network centaur pods in the node namespaces), node agents enforcing each
// part's manifests, and the part's checks probed in one parallel batch. The transcription's
// addresses are the lab's own (pods 198.18.h.n, nodes 198.19.0.n), so no address moves.
// Agents accept a workload's allowed traffic to its own node (Calico's Kubernetes manifests set
// defaultEndpointToHostAction ACCEPT): the node-peer checks reach the centaur on the client's
// node, which policy allows.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { Lab, type PortSpec } from "../../src/lab/index.ts";
import { parseManifests, type Resource } from "../../src/model/index.ts";
import { cnpCluster, cnpCorpusFiles, readCnpCase } from "../conformance/cnp-corpus.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { probeExpecting } from "./expect-cells.ts";

function validated(docs: readonly unknown[]): Resource[] {
  const result = parseManifests(docs.map((d) => stringify(d)).join("---\n"), "cnp corpus");
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.resources;
}

/** Every port some pod serves upstream, served by every lab pod. */
function servedPorts(): PortSpec[] {
  const seen = new Map<string, PortSpec>();
  for (const pod of cnpCluster().pods) {
    for (const p of pod.serves) seen.set(`${p.port}/${p.protocol}`, p);
  }
  return [...seen.values()];
}

describe("ClusterNetworkPolicy conformance with real packets", { skip: rootSkipReason() }, () => {
  const parts = cnpCorpusFiles()
    .map(readCnpCase)
    .flatMap((c) => c.steps.flatMap((s) => s.parts));
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-cnp-"));
  const timing = { apply: 0, probe: 0, checks: 0, retried: 0 };
  let lab: Lab;

  before(async () => {
    lab = await Lab.upFromManifests(validated(parts[0]!.resources), {
      stateDir,
      nodes: ["node-1", "node-2"],
      ports: servedPorts(),
      agents: { endpointToHost: "Accept" },
    });
  });
  after(() => {
    lab?.down();
    rmSync(stateDir, { recursive: true, force: true });
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `cnp lab: ${parts.length} parts, ${timing.checks} checks; apply ${s(timing.apply)}, ` +
        `probe ${s(timing.probe)}; ${timing.retried} checks retried`,
    );
  });

  test("the lab gives pods and nodes the transcription's addresses", () => {
    for (const pod of cnpCluster().pods) {
      assert.equal(lab.pod(`${pod.namespace}/${pod.name}`).ip, pod.ip, pod.name);
    }
  });

  for (const part of parts) {
    test(part.name, async () => {
      let started = performance.now();
      await lab.applyManifests(validated(part.resources));
      timing.apply += performance.now() - started;
      started = performance.now();
      const { wrong, retried } = await probeExpecting(lab, part.checks);
      timing.probe += performance.now() - started;
      timing.checks += part.checks.length;
      timing.retried += retried;
      assert.deepEqual(wrong, []);
    });
  }
});
