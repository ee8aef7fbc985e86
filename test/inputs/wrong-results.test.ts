// Issue 12's wrong results, each from the smallest realistic manifest that showed it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reachabilityMatrix } from "../../src/analysis/matrix.ts";
import { parseManifests } from "../../src/model/index.ts";
import { expectFlow, worldOf } from "./world.ts";

const twoNamespaces = `
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Namespace
metadata: {name: y}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 198.18.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {app: b}}
spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {phase: Running, podIP: 198.18.0.2}
`;

describe("1. references that do not resolve are errors", () => {
  it("a policy naming a missing tier is rejected at spec.tier, not skipped", () => {
    const result = parseManifests(
      `${twoNamespaces}---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.deny-all}
spec: {tier: security, selector: all(), types: [Ingress, Egress]}
`,
      "deny.yaml",
    );
    assert.equal(result.ok, false);
    const errors = result.ok ? [] : result.errors;
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, "manifest.reference");
    assert.equal(errors[0]!.path, "spec.tier");
    assert.equal(errors[0]!.name, "security.deny-all");
    assert.match(errors[0]!.message, /tier "security" does not exist/);
  });

  it("the same policy with its Tier loads and denies", () => {
    const world = worldOf(`${twoNamespaces}---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.deny-all}
spec: {tier: security, selector: all(), types: [Ingress, Egress]}
`);
    expectFlow(world, "x/a", "y/b", 80, "deny");
  });

  it("staged policies in a missing tier are rejected too", () => {
    const result = parseManifests(
      `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: ops.p, namespace: x}
spec: {tier: ops}
`,
      "staged.yaml",
    );
    assert.equal(result.ok, false);
    assert.equal(result.ok ? "" : result.errors[0]!.path, "spec.tier");
  });

  it("the built-in tiers need no Tier object", () => {
    for (const tier of ["default", "adminnetworkpolicy", "baselineadminnetworkpolicy"]) {
      const result = parseManifests(
        `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec: {tier: ${tier}}
`,
        "p.yaml",
      );
      assert.ok(result.ok, `tier ${tier}`);
    }
  });
});

describe("2. container ports without a name", () => {
  it("count as the workload's ports in the matrix", () => {
    const world = worldOf(`
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {containers: [{name: nginx, image: nginx, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}
status: {podIP: 198.18.0.1}
`);
    const m = reachabilityMatrix(world.cluster, world.evaluator);
    assert.deepEqual(m.ports, [
      { port: 80, protocol: "TCP" },
      { port: 53, protocol: "UDP" },
    ]);
    assert.equal(m.results.length, 2);
  });
});

describe("3. pods without status.podIP", () => {
  const templates = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
`;

  it("are judged by identity", () => {
    const world = worldOf(templates);
    expectFlow(world, "shop/web", "shop/db", 5432, "allow");
    expectFlow(world, "shop/db", "shop/web", 8080, "allow");
    expectFlow(world, "shop/web", "shop/db", 80, "deny");
  });

  it("fill the matrix: no cell is missing", () => {
    const world = worldOf(templates);
    const m = reachabilityMatrix(world.cluster, world.evaluator);
    assert.equal(m.results.length, 2 * 2 * 2);
    const cell = m.results.find((c) => c.from === "shop/db" && c.to === "shop/db");
    assert.equal(cell?.allowed, true);
  });

  it("are never inside an ipBlock, and always outside an except", () => {
    const world = worldOf(`${templates}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]
`);
    expectFlow(world, "shop/web", "shop/db", 5432, "deny");
  });
});

describe("4. real Node objects", () => {
  it("load with Hostname and InternalDNS addresses; the IPs are the node's", () => {
    const world = worldOf(`
apiVersion: v1
kind: Node
metadata: {name: ip-10-0-1-5.ec2.internal, labels: {role: worker}}
status:
  addresses:
  - {type: InternalIP, address: 198.18.9.5}
  - {type: InternalDNS, address: ip-10-0-1-5.ec2.internal}
  - {type: Hostname, address: ip-10-0-1-5.ec2.internal}
  - {type: ExternalIP, address: 198.19.9.5}
`);
    assert.deepEqual(
      world.cluster.nodes[0]!.addresses.map((a) => a.text),
      ["198.18.9.5", "198.19.9.5"],
    );
  });
});

describe("5. finished pods", () => {
  const reused = `
apiVersion: v1
kind: Namespace
metadata: {name: batch}
---
apiVersion: v1
kind: Pod
metadata: {name: job-abc, namespace: batch, labels: {app: job}}
spec: {containers: [{name: c}]}
status: {phase: Succeeded, podIP: 198.18.0.7}
---
apiVersion: v1
kind: Pod
metadata: {name: cron-old, namespace: batch, labels: {app: job}}
spec: {containers: [{name: c}]}
status: {phase: Failed, podIP: 198.18.0.9}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: batch, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 443}]}]}
status: {phase: Running, podIP: 198.18.0.7}
`;

  it("do not hold their address: the live pod that reuses it does", () => {
    const world = worldOf(reused);
    const peer = world.cluster.peerAt(world.cluster.endpoint("batch/api")!.addresses[0]!);
    assert.equal(peer.endpoint?.id, "batch/api");
  });

  it("do not appear in the matrix", () => {
    const world = worldOf(reused);
    assert.deepEqual(reachabilityMatrix(world.cluster, world.evaluator).workloads, ["batch/api"]);
  });
});

describe("6. pods whose Namespace object is missing", () => {
  const podsOnly = `
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: front, labels: {app: a}}
status: {podIP: 198.18.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: back, labels: {app: b}}
status: {podIP: 198.18.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-front, namespace: back}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}}]
`;

  it("get the namespace name label Kubernetes always sets", () => {
    const world = worldOf(podsOnly);
    expectFlow(world, "front/a", "back/b", 80, "allow");
  });

  it("are accepted with one warning per implied namespace", () => {
    const result = parseManifests(podsOnly, "pods.yaml");
    assert.ok(result.ok);
    assert.deepEqual(
      result.warnings.map((w) => w.message),
      [
        'namespace "back" has no Namespace object: implied with label kubernetes.io/metadata.name=back only',
        'namespace "front" has no Namespace object: implied with label kubernetes.io/metadata.name=front only',
      ],
    );
  });
});

describe("7. notSelector in a namespaced Calico policy", () => {
  it("is limited to the policy's namespace", () => {
    const world = worldOf(`${twoNamespaces}---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: not-db, namespace: x}
spec:
  selector: all()
  egress: [{action: Allow, destination: {notSelector: "app == 'db'"}}]
`);
    expectFlow(world, "x/a", "y/b", 80, "deny");
  });

  it("still allows the policy's own namespace", () => {
    const world = worldOf(`${twoNamespaces}---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: x, labels: {app: c}}
status: {podIP: 198.18.0.3}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: not-db, namespace: x}
spec:
  selector: "app == 'a'"
  egress: [{action: Allow, destination: {notSelector: "app == 'db'"}}]
`);
    expectFlow(world, "x/a", "x/c", 80, "allow");
  });
});

describe("8. named ports resolve on the endpoints the selector matches", () => {
  it("a pod reached only through a GlobalNetworkSet lends no named port", () => {
    const world = worldOf(`${twoNamespaces}---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: ext, labels: {role: ext}}
spec: {nets: [198.18.0.0/15]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: to-ext}
spec:
  selector: "app == 'a'"
  types: [Egress]
  egress:
  - {action: Allow, protocol: TCP, destination: {selector: "role == 'ext'", ports: [http]}}
`);
    expectFlow(world, "x/a", "y/b", 80, "deny");
  });

  it("a pod the selector matches itself does", () => {
    const world = worldOf(`${twoNamespaces}---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: to-b}
spec:
  selector: "app == 'a'"
  types: [Egress]
  egress:
  - {action: Allow, protocol: TCP, destination: {selector: "app == 'b'", ports: [http]}}
`);
    expectFlow(world, "x/a", "y/b", 80, "allow");
  });
});

describe("9. the BaselineAdminNetworkPolicy in its tier", () => {
  it("sits at order 1000 among Calico policies there", () => {
    const world = worldOf(`${twoNamespaces}---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Allow, from: [{namespaces: {}}]}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: late-deny}
spec:
  tier: baselineadminnetworkpolicy
  order: 2000
  selector: all()
  ingress: [{action: Deny}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: early-deny}
spec:
  tier: baselineadminnetworkpolicy
  order: 500
  selector: "app == 'a'"
  ingress: [{action: Deny}]
`);
    expectFlow(world, "x/a", "y/b", 80, "allow");
    expectFlow(world, "y/b", "x/a", 80, "deny");
  });
});
