// Workload controllers: a repository of Deployments and policies gives the verdicts its pods
// would get, one workload per template.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reachabilityMatrix } from "../../src/analysis/matrix.ts";
import { expectFlow, worldOf } from "./world.ts";

const repo = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: nginx, image: nginx:1.27, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres:16, ports: [{containerPort: 5432}]}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {restartPolicy: OnFailure, containers: [{name: b, image: busybox}]}
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: agent, namespace: shop}
  spec:
    selector: {matchLabels: {app: agent}}
    template:
      metadata: {labels: {app: agent}}
      spec: {containers: [{name: a, image: agent}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}, {podSelector: {matchLabels: {app: backup}}}]
    ports: [{port: 5432}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-sa, namespace: shop}
spec:
  selector: "app == 'web'"
  ingress: [{action: Allow, source: {serviceAccounts: {names: [web]}}}]
`;

describe("workload controllers", () => {
  it("each template is one workload named by its owner", () => {
    const world = worldOf(repo);
    const m = reachabilityMatrix(world.cluster, world.evaluator);
    assert.deepEqual(m.workloads, [
      "shop/cronjob/backup",
      "shop/daemonset/agent",
      "shop/deployment/web",
      "shop/statefulset/db",
    ]);
  });

  it("templates get the verdicts their pods would", () => {
    const world = worldOf(repo);
    expectFlow(world, "shop/deployment/web", "shop/statefulset/db", 5432, "allow");
    expectFlow(world, "shop/cronjob/backup", "shop/statefulset/db", 5432, "allow");
    expectFlow(world, "shop/daemonset/agent", "shop/statefulset/db", 5432, "deny");
    // The template's service account is the pods' identity.
    expectFlow(world, "shop/deployment/web", "shop/deployment/web", 8080, "allow");
    expectFlow(world, "shop/statefulset/db", "shop/deployment/web", 8080, "deny");
  });

  it("pods owned by a controller in the set are not counted twice", () => {
    const world = worldOf(`${repo}---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d4b9c
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true, uid: u1}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9c-x2x9z
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, controller: true, uid: u2}]
status: {phase: Running, podIP: 198.18.0.4}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone-1234, controller: true, uid: u3}]
status: {phase: Running, podIP: 198.18.0.5}
`);
    const m = reachabilityMatrix(world.cluster, world.evaluator);
    assert.ok(m.workloads.includes("shop/deployment/web"));
    assert.ok(m.workloads.includes("shop/orphan"), "a pod whose owner is absent stays");
    assert.ok(!m.workloads.includes("shop/replicaset/web-7d4b9c"));
    assert.ok(!m.workloads.includes("shop/web-7d4b9c-x2x9z"));
  });
});
