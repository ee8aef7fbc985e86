// Calico rule `services: {name, namespace}`: the Service's endpoints as the peer (its
// EndpointSlices, or its selector's pods when no slice is known), with the endpoints' ports on
// a destination. The offline evaluator, the engine fed events (memory dataplane) and the
// from-scratch state must agree, also while the Service and its slices come and go.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { reachabilityMatrix } from "../../src/analysis/matrix.ts";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { desiredState } from "../../src/engine/desired.ts";
import { Engine } from "../../src/engine/graph.ts";
import {
  parseManifests,
  type Resource,
  resourceKey,
  validResources,
} from "../../src/model/index.ts";
import { buildWorld } from "../../src/policy/index.ts";
import { stateText } from "../engine/state.ts";
import { judge } from "../policy/fixtures.ts";
import { controllerYaml } from "./world.ts";

const PODS = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-5c8b7, namespace: shop, labels: {app: web}}
spec: {containers: [{name: web, image: web:2}]}
status: {phase: Running, podIP: 198.18.6.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec:
  containers: [{name: pg, image: postgres:16, ports: [{name: pg, containerPort: 5432}]}]
status: {phase: Running, podIP: 198.18.6.20}
---
apiVersion: v1
kind: Pod
metadata: {name: cache-0, namespace: shop, labels: {app: cache}}
spec: {containers: [{name: redis, image: redis:7, ports: [{containerPort: 6379}]}]}
status: {phase: Running, podIP: 198.18.6.30}
`;

const SERVICE = `
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports: [{port: 5432, targetPort: pg}]
`;

const SLICE = `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-x7k2p, namespace: shop, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
endpoints: [{addresses: [198.18.6.20], conditions: {ready: true}}]
ports: [{name: "", port: 5432, protocol: TCP}]
`;

/** web may reach the db Service only; everyone else in shop is isolated on egress. */
const EGRESS = `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-to-db, namespace: shop}
spec:
  selector: app == 'web'
  types: [Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination:
      services: {name: db}
`;

function load(...texts: string[]): Resource[] {
  const docs = parseAllDocuments(texts.join("\n---\n"))
    .map((d) => d.toJS())
    .filter(Boolean);
  return validResources(docs);
}

const allowed = (rs: Resource[], from: string, to: string, port: number) =>
  judge(rs, from, to, port).allowed;

describe("rule services: validation as Calico's", () => {
  function errors(rule: string, kind = "NetworkPolicy", direction = "egress"): string[] {
    const meta = kind === "NetworkPolicy" ? "{name: p, namespace: shop}" : "{name: p}";
    const result = parseManifests(
      `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata: ${meta}\nspec:\n  ${direction}:\n  - ${rule}\n`,
      "p.yaml",
    );
    return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
  }

  test("a destination Service in an egress rule, a source Service in an ingress rule load", () => {
    assert.deepEqual(errors("{action: Allow, destination: {services: {name: db}}}"), []);
    assert.deepEqual(
      errors(
        "{action: Allow, protocol: TCP, source: {services: {name: web}, ports: [1024:65535]}}",
        "NetworkPolicy",
        "ingress",
      ),
      [],
    );
  });

  test("other peer fields, destination ports, the wrong side, a global policy without namespace", () => {
    assert.deepEqual(
      errors("{action: Allow, destination: {services: {name: db}, selector: app == 'db'}}"),
      [
        "spec.egress[0].destination.selector: cannot be combined with services (its endpoints are the peers)",
      ],
    );
    assert.deepEqual(
      errors("{action: Allow, protocol: TCP, destination: {services: {name: db}, ports: [5432]}}"),
      [
        "spec.egress[0].destination.ports: cannot be combined with services (the Service's endpoints give the ports)",
      ],
    );
    assert.deepEqual(errors("{action: Allow, source: {services: {name: db}}}"), [
      "spec.egress[0].source.services: not allowed in an egress rule's source",
    ]);
    assert.deepEqual(
      errors("{action: Allow, destination: {services: {name: db}}}", "NetworkPolicy", "ingress"),
      ["spec.ingress[0].destination.services: not allowed in an ingress rule's destination"],
    );
    assert.deepEqual(
      errors("{action: Allow, destination: {services: {name: db}}}", "GlobalNetworkPolicy"),
      [
        "spec.egress[0].destination.services.namespace: must name the Service's namespace in a global policy",
      ],
    );
    assert.deepEqual(errors("{action: Allow, destination: {services: {name: ''}}}"), [
      "spec.egress[0].destination.services.name: must name a Service",
    ]);
  });
});

describe("rule services: the Service's endpoints and their ports", () => {
  test("through its EndpointSlices: the slice's addresses on the slice's ports", () => {
    const rs = load(PODS, SERVICE, SLICE, EGRESS);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/db-0", 5432), true);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/db-0", 5433), false, "not a Service port");
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/cache-0", 6379), false, "not an endpoint");
  });

  test("the slices decide, not the selector: a pod the slice does not list is no endpoint", () => {
    const elsewhere = SLICE.replace("198.18.6.20", "198.18.6.30").replace(
      "5432, protocol",
      "6379, protocol",
    );
    const rs = load(PODS, SERVICE, elsewhere, EGRESS);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/db-0", 5432), false);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/cache-0", 6379), true);
  });

  test("no slices (a repo before deploying): the selector's pods on the target ports, named ones resolved", () => {
    const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres:16, ports: [{name: pg, containerPort: 5432}]}]}
`;
    const rs = load(PODS.split("---").slice(0, 3).join("---"), deployment, SERVICE, EGRESS);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/deployment/db", 5432), true);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/deployment/db", 5433), false);
  });

  test("an ingress source Service: its endpoints may connect, nobody else", () => {
    const ingress = `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    source:
      services: {name: web}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
`;
    const rs = load(PODS, ingress);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/db-0", 5432), true);
    assert.equal(allowed(rs, "shop/cache-0", "shop/db-0", 5432), false);
  });

  test("a missing Service: an Allow matches nothing, a Deny matches every peer", () => {
    assert.equal(allowed(load(PODS, EGRESS), "shop/web-5c8b7", "shop/db-0", 5432), false);
    const deny = `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: no-payments, namespace: shop}
spec:
  selector: app == 'web'
  types: [Egress]
  egress:
  - action: Deny
    destination:
      services: {name: payments}
  - action: Allow
`;
    // Written: "never to payments". Until its Service is known, that cannot be told from
    // anything else, so nothing passes rather than payments' pods.
    assert.equal(allowed(load(PODS, deny), "shop/web-5c8b7", "shop/db-0", 5432), false);
    const payments = `
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
`;
    const rs = load(PODS, deny, payments);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/db-0", 5432), true);
    assert.equal(allowed(rs, "shop/web-5c8b7", "shop/cache-0", 6379), false);
  });
});

describe("rule services in the matrix", () => {
  test("a repo of Deployments: the matrix judges a Service's named target port as explain does", () => {
    const repo = `
${controllerYaml("Deployment", "shop", "api", ["{containerPort: 8080, name: http}"])}---
${controllerYaml("Deployment", "shop", "web", ["{containerPort: 80}"])}---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  selector: app == 'web'
  types: [Egress]
  egress: [{action: Allow, protocol: TCP, destination: {services: {name: api}}}]
`;
    const world = buildWorld(load(repo));
    const cells = reachabilityMatrix(world.cluster, world.evaluator).results.filter(
      (c) => c.from === "shop/deployment/web" && c.to === "shop/deployment/api",
    );
    // Before verdict classes read Services, 8080 was judged as the unnamed port 80 and denied.
    assert.deepEqual(
      cells.map((c) => [c.port, c.allowed]),
      [
        [80, false],
        [8080, true],
      ],
    );
    assert.equal(allowed(load(repo), "shop/deployment/web", "shop/deployment/api", 8080), true);
  });
});

describe("rule services in the engine", () => {
  test("fed events, the memory dataplane equals the from-scratch state and the evaluator", () => {
    const [service] = load(SERVICE);
    const [slice] = load(SLICE);
    const base = load(PODS, EGRESS);
    const moved = load(
      SLICE.replace("198.18.6.20", "198.18.6.30").replace("5432, protocol", "6379, protocol"),
    )[0]!;
    const engine = new Engine();
    const dataplane = new MemoryDataplane();
    const step = (
      live: Resource[],
      events: Parameters<Engine["ingest"]>[0],
      expect: Record<string, boolean>,
    ) => {
      engine.ingest(events);
      dataplane.applyDeltas(engine.flush());
      assert.equal(stateText(dataplane.state()), stateText(desiredState(live)));
      for (const [target, want] of Object.entries(expect)) {
        const [to, port] = target.split(":") as [string, string];
        const address = to === "shop/db-0" ? "198.18.6.20" : "198.18.6.30";
        const got = dataplane.verdict({
          source: "198.18.6.10",
          destination: address,
          protocol: "TCP",
          port: +port,
        }).allowed;
        assert.equal(got, want, `${target}: dataplane`);
        assert.equal(allowed(live, "shop/web-5c8b7", to, +port), want, `${target}: evaluator`);
      }
    };
    step(
      base,
      base.map((resource) => ({ type: "upsert" as const, resource })),
      {
        "shop/db-0:5432": false,
      },
    );
    // The Service alone: its selector's pods on the named target port.
    step(
      [...base, service!],
      { type: "upsert", resource: service! },
      {
        "shop/db-0:5432": true,
        "shop/cache-0:6379": false,
      },
    );
    step(
      [...base, service!, slice!],
      { type: "upsert", resource: slice! },
      { "shop/db-0:5432": true },
    );
    // The slice now lists another endpoint: set members move, the selector no longer counts.
    step(
      [...base, service!, moved],
      { type: "upsert", resource: moved },
      {
        "shop/db-0:5432": false,
        "shop/cache-0:6379": true,
      },
    );
    step(
      [...base, service!],
      { type: "delete", key: resourceKey(moved) },
      {
        "shop/db-0:5432": true,
        "shop/cache-0:6379": false,
      },
    );
    step(base, { type: "delete", key: resourceKey(service!) }, { "shop/db-0:5432": false });
  });
});
