// The analysis bars against the kernel, in a lab of the segmented-apps example: the flows
// simulate predicts as newly denied are exactly those the kernel denies once the change is
// applied; promoted recommendations allow every observed flow and deny every other probed
// pair. The "recorded" flows are the lab's own probes that the kernel let through, turned into
// flow records (the node agents' flow capture is tested in test/flows).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promote, recommend } from "../../src/analysis/recommend.ts";
import { applyChange, simulate } from "../../src/analysis/simulate.ts";
import type { FlowRecord } from "../../src/flows/index.ts";
import { Lab, type ProbeSpec } from "../../src/lab/index.ts";
import { loadManifests, type Resource, validResources } from "../../src/model/index.ts";
import { buildWorld, type Endpoint } from "../../src/policy/index.ts";
import { probeExpecting } from "../lab/expect-cells.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { record } from "./flow-records.ts";

const example = join(import.meta.dirname, "../../examples/segmented-apps");
const PORT = 8080;
const POLICY_KINDS = new Set(["GlobalNetworkPolicy", "NetworkPolicy", "StagedNetworkPolicy"]);

async function load(paths: string[]): Promise<Resource[]> {
  const result = await loadManifests(paths);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.resources;
}

const cellName = (c: ProbeSpec) => `${c.from} -> ${c.to} ${c.port}/${c.protocol}`;

/** Flow records for the probes the kernel allowed, with the sides' identities and addresses. */
function recordsOf(
  world: ReturnType<typeof buildWorld>,
  cells: readonly ProbeSpec[],
): FlowRecord[] {
  const side = (id: string) => {
    const e = world.cluster.endpoint(id)!;
    return { ns: e.namespace!, name: e.name, ip: e.addresses[0]!.text };
  };
  return cells.map((c) => record(side(c.from), side(c.to), c.port, "tcp"));
}

/** Only orderInput's frontend may reach orderInput's components now. */
const CHANGE = validResources([
  {
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name: "silo-orderinput" },
    spec: {
      selector: 'app == "orderInput"',
      ingress: [
        { action: "Allow", source: { selector: 'app == "orderInput" && component == "frontend"' } },
      ],
      egress: [{ action: "Allow", destination: { selector: 'app == "orderInput"' } }],
    },
  },
]);

describe("simulate and recommend against the kernel", { skip: rootSkipReason() }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-analysis-lab-"));
  let lab: Lab;
  let current: Resource[];
  let allCells: ProbeSpec[];

  before(async () => {
    lab = await Lab.upFromManifests(await load([example]), { stateDir, nodes: 2 });
    current = await load([lab.manifestsPath!]);
    const ids = lab.plan.pods.map((p) => p.name).sort();
    allCells = ids.flatMap((from) =>
      ids
        .filter((to) => to !== from)
        .map((to) => ({ from, to, port: PORT, protocol: "TCP" as const })),
    );
  });
  after(() => {
    lab?.down();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** The cells the kernel lets through now. */
  async function allowedNow(cells: readonly ProbeSpec[]): Promise<Set<string>> {
    const world = buildWorld(current);
    const expected = cells.map((c) => ({
      ...c,
      expected: world.evaluator.evaluate({
        source: world.cluster.peerOf(world.cluster.endpoint(c.from)!),
        destination: world.cluster.peerOf(world.cluster.endpoint(c.to)!),
        port: c.port,
        protocol: c.protocol,
      }).allowed,
    }));
    // Probed against the model's verdict, so a slow allowed probe is retried before it counts.
    const { wrong } = await probeExpecting(lab, expected);
    assert.deepEqual(wrong, [], "the lab enforces what the model says");
    return new Set(expected.filter((c) => c.expected).map(cellName));
  }

  test("the recorded flows simulate calls newly denied are exactly those the kernel denies after", async () => {
    const allowed = await allowedNow(allCells);
    const recorded = allCells.filter((c) => allowed.has(cellName(c)));
    assert.ok(recorded.length > 20, `only ${recorded.length} flows recorded`);
    const s = simulate(current, CHANGE, recordsOf(buildWorld(current), recorded));
    const predicted = new Set(
      s.flows.newlyDenied.map((f) => `${f.from} -> ${f.to} ${f.port}/${f.protocol}`),
    );
    assert.ok(predicted.size > 0, "the change denies some recorded flows");
    assert.deepEqual(s.flows.newlyAllowed, []);

    current = applyChange(current, CHANGE);
    await lab.applyManifests(current);
    const results = await lab.probe(recorded, { timeoutMs: 400 });
    const deniedByKernel = new Set(recorded.filter((_, i) => !results[i]!.allowed).map(cellName));
    // A connection the kernel refused once may have been a slow one: ask again with time.
    const recheck = recorded.filter(
      (c) => deniedByKernel.has(cellName(c)) && !predicted.has(cellName(c)),
    );
    const again = await lab.probe(recheck, { timeoutMs: 2000 });
    recheck.forEach((c, i) => {
      if (again[i]!.allowed) deniedByKernel.delete(cellName(c));
    });
    assert.deepEqual([...deniedByKernel].sort(), [...predicted].sort());
  });

  test("promoted recommendations allow every observed flow and deny every other probed pair", async () => {
    const world = buildWorld(current);
    const allowed = await allowedNow(allCells);
    // Observed: what frontends and creditCheck did; the rest of the traffic never happened.
    const observed = allCells.filter(
      (c) => allowed.has(cellName(c)) && /frontend|creditcheck/.test(c.from),
    );
    assert.ok(observed.length > 5, `only ${observed.length} observed`);
    const workloads = current.filter((r) => !POLICY_KINDS.has(r.kind));
    const staged = recommend(workloads, recordsOf(world, observed));
    assert.ok(staged.every((p) => p.kind === "StagedNetworkPolicy"));
    current = [...workloads, ...staged.map(promote)];
    await lab.applyManifests(current);

    // Owners: replicas with the same labels are one group, so what one did the other may do.
    const groupOf = (e: Endpoint) =>
      `${e.namespace}/${JSON.stringify(
        Object.entries(e.labels)
          .filter(([k]) => !/^(projectcalico\.org\/|pcns\.|pcsa\.)/.test(k))
          .sort(),
      )}`;
    const group = (id: string) => groupOf(world.cluster.endpoint(id)!);
    const seen = new Set(observed.map((c) => `${group(c.from)} -> ${group(c.to)}`));
    const expected = allCells.map((c) => ({
      ...c,
      expected: seen.has(`${group(c.from)} -> ${group(c.to)}`),
    }));
    assert.ok(
      expected.some((c) => !c.expected),
      "some pairs were never seen",
    );
    const { wrong } = await probeExpecting(lab, expected);
    assert.deepEqual(wrong, []);
  });
});
