// The matrix judges one pair of verdict classes once and counts its cells; this checks, on small
// random clusters, that the grouped summary and grid equal judging every cell one by one with
// the evaluator, so the speed-up cannot change an answer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  declaredPorts,
  type MatrixFilter,
  matrixStream,
  namespaceSummary,
  reachabilityMatrix,
} from "../../src/analysis/matrix.ts";
import { writeResultsJson } from "../../src/analysis/matrix-text.ts";
import { VerdictClasses } from "../../src/analysis/verdict-classes.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { buildWorld, type PortProtocol, type World } from "../../src/policy/index.ts";
import { selectorMatches } from "../../src/selector/index.ts";
import { ChurnGenerator, prng, type Random } from "../engine/random-cluster.ts";

const SEEDS = 80;
const EVENTS = 45;

/**
 * The churn generator's cluster, with replicas of some pods (same labels, another address), and
 * some pods given a label no selector reads (as a StatefulSet's pod name) or no address (as a
 * template), so classes merge and split both ways.
 */
function randomCluster(seed: number): Resource[] {
  const r = prng(seed);
  const gen = new ChurnGenerator(r);
  for (let i = 0; i < EVENTS; i++) gen.next();
  let replicaIp = 0;
  const pods = [...gen.live.values()].flatMap((res) => {
    if (res.kind !== "Pod") return [res];
    const replicas = Array.from({ length: Math.floor(r() * 3) }, (_, i) =>
      varyPod(res, `${res.metadata.name}-r${i}`, `198.18.3.${++replicaIp}`, r),
    );
    return [varyPod(res, res.metadata.name, undefined, r), ...replicas];
  });
  return [...pods, ...(r() < 0.5 ? readersOfRareFields(seed) : [])];
}

/**
 * A network set around some replicas' addresses, a rule whose notSelector alone reads a label,
 * and Services as rule peers (one by a selector on a label nothing else reads, with a named
 * target port that pods declare on different numbers; one by its EndpointSlice): the parts of
 * a class key the churn generator's clusters seldom reach.
 */
function readersOfRareFields(seed: number): Resource[] {
  return [
    validResource({
      apiVersion: "microseg.io/v1",
      kind: "GlobalNetworkSet",
      metadata: { name: "replicas", labels: { kind: "partner" } },
      spec: { nets: [seed % 2 === 0 ? "198.18.3.0/30" : "198.18.3.4/31"] },
    }),
    validResource({
      apiVersion: "microseg.io/v1",
      kind: "GlobalNetworkPolicy",
      metadata: { name: "rare" },
      spec: {
        order: 0,
        selector: `app == "db" || kind == "partner"`,
        ingress: [
          { action: "Deny", source: { notSelector: `tier == "x"` } },
          { action: "Allow", source: { selector: `kind == "partner"` } },
        ],
      },
    }),
    validResource({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "backend", namespace: "ns-a" },
      spec: {
        selector: { exposed: "yes" },
        ports: [
          { port: 80, targetPort: "http" },
          { port: 22, targetPort: 22 },
        ],
      },
    }),
    validResource({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "sliced", namespace: "ns-b" },
      spec: { selector: { app: "web" }, ports: [{ port: 8080 }] },
    }),
    validResource({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "sliced-1",
        namespace: "ns-b",
        labels: { "kubernetes.io/service-name": "sliced" },
      },
      addressType: "IPv4",
      endpoints: [
        { addresses: [seed % 2 === 0 ? "198.18.3.1" : "198.18.3.2"] },
        { addresses: ["198.18.3.3"] },
      ],
      ports: [{ port: 8080, protocol: "TCP" }],
    }),
    validResource({
      apiVersion: "microseg.io/v1",
      kind: "GlobalNetworkPolicy",
      metadata: { name: "to-services" },
      spec: {
        order: 1,
        selector: `app == "web"`,
        types: ["Egress"],
        egress: [
          { action: "Allow", destination: { services: { name: "backend", namespace: "ns-a" } } },
          { action: "Allow", destination: { services: { name: "sliced", namespace: "ns-b" } } },
          { action: "Deny" },
        ],
      },
    }),
  ];
}

function varyPod(pod: Resource, name: string, ip: string | undefined, r: Random): Resource {
  const object = structuredClone(pod) as unknown as {
    metadata: { name: string; labels?: Record<string, string> };
    status?: { podIP?: string };
  };
  object.metadata.name = name;
  if (ip !== undefined) object.status = { podIP: ip };
  if (r() < 0.4) object.metadata.labels = { ...object.metadata.labels, "pod-name": name };
  if (r() < 0.3) object.metadata.labels = { ...object.metadata.labels, tier: "x" };
  if (r() < 0.3) object.metadata.labels = { ...object.metadata.labels, exposed: "yes" };
  if (r() < 0.15) delete object.status;
  return validResource(object);
}

const EXTRA_PORTS: PortProtocol[] = [
  { port: 22, protocol: "TCP" },
  { port: 8080, protocol: "TCP" },
  { port: 75, protocol: "TCP" },
  { port: 80, protocol: "UDP" },
  { port: 53, protocol: "UDP" },
  { port: 9, protocol: "SCTP" },
];

function filterOf(seed: number): MatrixFilter {
  switch (seed % 4) {
    case 1:
      return { namespace: "ns-a" };
    case 2:
      return { from: `app == "web"`, to: "has(role)" };
    case 3:
      return { to: `app in {"db", "api"}` };
    default:
      return {};
  }
}

/** Every cell judged by the evaluator on its own: the reference. */
function cellByCell(world: World, ports: readonly PortProtocol[], filter: MatrixFilter) {
  const all = world.cluster
    .workloads()
    .filter((w) => filter.namespace === undefined || w.namespace === filter.namespace)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const rows = all.filter(
    (w) => filter.from === undefined || selectorMatches(filter.from, w.labels),
  );
  const columns = all.filter(
    (w) => filter.to === undefined || selectorMatches(filter.to, w.labels),
  );
  const cells: string[] = [];
  const counts = new Map<string, { allowed: number; denied: number }>();
  for (const pp of ports) {
    for (const from of rows) {
      for (const to of columns) {
        const v = world.evaluator.evaluate({
          source: world.cluster.peerOf(from),
          destination: world.cluster.peerOf(to),
          ...pp,
        });
        cells.push(
          `${from.id}>${to.id} ${pp.port}/${pp.protocol} ${v.allowed} ${v.egress.allowed} ${v.ingress.allowed}`,
        );
        const key = `${from.namespace}>${to.namespace} ${pp.port}/${pp.protocol}`;
        const c = counts.get(key) ?? { allowed: 0, denied: 0 };
        if (v.allowed) c.allowed++;
        else c.denied++;
        counts.set(key, c);
      }
    }
  }
  return { rows, columns, cells, counts };
}

describe("matrix by verdict class", () => {
  it("equals judging every cell, summary and grid, on random clusters", () => {
    let merged = 0;
    let workloadsSeen = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const world = buildWorld(randomCluster(seed));
      const filter = filterOf(seed);
      const ports = [...declaredPorts(world.cluster.workloads()), ...EXTRA_PORTS];
      const reference = cellByCell(world, ports, filter);
      const where = `seed ${seed}, filter ${JSON.stringify(filter)}`;

      const summary = namespaceSummary(world.cluster, world.evaluator, ports, filter);
      assert.deepEqual(
        new Map(
          summary.map((s) => [
            `${s.from}>${s.to} ${s.port}/${s.protocol}`,
            { allowed: s.allowed, denied: s.denied },
          ]),
        ),
        reference.counts,
        where,
      );
      assert.equal(summary.length, reference.counts.size, where);

      const grid = reachabilityMatrix(world.cluster, world.evaluator, ports, filter);
      assert.deepEqual(
        grid.results.map(
          (c) => `${c.from}>${c.to} ${c.port}/${c.protocol} ${c.allowed} ${c.egress} ${c.ingress}`,
        ),
        reference.cells,
        where,
      );

      const classes = new VerdictClasses(world.program, world.cluster);
      const distinct = new Set(
        [...reference.rows, ...reference.columns].map((w) =>
          classes.classOf({ ...world.cluster.peerOf(w), endpoint: w }),
        ),
      );
      const sides = new Set([...reference.rows, ...reference.columns]).size;
      workloadsSeen += sides;
      merged += sides - distinct.size;
    }
    // Not vacuous: the clusters had workloads, and classes did merge some of them.
    assert.ok(workloadsSeen > SEEDS * 2, `only ${workloadsSeen} workloads in ${SEEDS} clusters`);
    assert.ok(merged > workloadsSeen / 8, `only ${merged} of ${workloadsSeen} workloads merged`);
  });
});

describe("matrix -o json", () => {
  it("streams the text JSON.stringify gives for the whole matrix, in pieces", () => {
    const world = buildWorld(randomCluster(7));
    const ports = declaredPorts(world.cluster.workloads());
    const pieces: string[] = [];
    writeResultsJson(matrixStream(world.cluster, world.evaluator, ports), (t) => pieces.push(t));
    const whole = reachabilityMatrix(world.cluster, world.evaluator, ports);
    assert.ok(whole.results.length > 0);
    assert.equal(pieces.join(""), JSON.stringify({ results: whole.results }));
  });
});
