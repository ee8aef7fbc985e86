// A cluster dump as `kubectl get namespaces,nodes,pods,networkpolicies -A -o yaml` prints it:
// one `List`, pods with what the API server and kubelet write (owner references, resources,
// volumes, tolerations, status conditions; kubectl leaves managedFields out), about 3 KB of
// YAML each. Pods come from
// Deployments (replicas share labels; `pod-template-hash` per ReplicaSet) and StatefulSets (each
// pod has its own `statefulset.kubernetes.io/pod-name`), as in a real cluster; the controllers
// themselves are not in the dump, so every pod is a workload of its own.
import { generatePolicy } from "./cluster-gen.ts";
import { rng } from "./lib.ts";

export interface DumpShape {
  readonly pods: number;
  readonly policies: number;
  readonly seed?: number;
}

/** The vocabulary of bench/cluster-gen.ts's policies: their selectors name these labels. */
const APPS = ["app-0", "app-1", "app-2", "app-3", "app-4"];
const COMPONENTS = ["web", "api", "worker", "db", "cache"];
const PORTS: Record<string, { name: string; containerPort: number }[]> = {
  web: [{ name: "http", containerPort: 8080 }],
  api: [
    { name: "http", containerPort: 8080 },
    { name: "metrics", containerPort: 9090 },
  ],
  worker: [{ name: "metrics", containerPort: 9090 }],
  db: [{ name: "postgres", containerPort: 5432 }],
  cache: [{ name: "redis", containerPort: 6379 }],
};
const PODS_PER_NAMESPACE = 100;
const NODES = 100;
const TIME = "2026-11-30T08:15:42Z";

function uid(random: () => number): string {
  const hex = () =>
    Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, "0");
  const h = hex() + hex() + hex() + hex();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function address(i: number): string {
  return `198.${18 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

function namespace(n: number): object {
  const name = `ns-${n}`;
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      creationTimestamp: TIME,
      labels: {
        "kubernetes.io/metadata.name": name,
        team: `team-${n % 50}`,
        env: n % 3 === 0 ? "prod" : "dev",
      },
      name,
      resourceVersion: String(1000 + n),
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  };
}

function node(k: number): object {
  const name = `node-${k}`;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": `zone-${k % 3}`,
      },
      name,
    },
    spec: { podCIDR: `198.19.${k}.0/24` },
    status: {
      addresses: [
        { address: `198.19.255.${k}`, type: "InternalIP" },
        { address: name, type: "Hostname" },
      ],
    },
  };
}

/** One controller's pods: the labels they share and how many there are. */
interface Workload {
  readonly namespace: string;
  readonly name: string;
  readonly kind: "ReplicaSet" | "StatefulSet";
  readonly labels: Record<string, string>;
  readonly component: string;
  readonly replicas: number;
}

function workloads(shape: DumpShape, random: () => number): Workload[] {
  const namespaces = Math.max(1, Math.round(shape.pods / PODS_PER_NAMESPACE));
  const out: Workload[] = [];
  let left = shape.pods;
  for (let w = 0; left > 0; w++) {
    const ns = w % namespaces;
    const app = APPS[Math.floor(random() * APPS.length)]!;
    const component = COMPONENTS[Math.floor(random() * COMPONENTS.length)]!;
    const stateful = component === "db";
    const name = `${app}-${component}-${w}`;
    const replicas = Math.min(left, stateful ? 3 : 1 + Math.floor(random() * 19));
    left -= replicas;
    const hash = Math.floor(random() * 2 ** 32).toString(36);
    out.push({
      namespace: `ns-${ns}`,
      name: stateful ? name : `${name}-${hash}`,
      kind: stateful ? "StatefulSet" : "ReplicaSet",
      labels: {
        app,
        component,
        version: `v${Math.floor(random() * 3)}`,
        ...(stateful
          ? { "controller-revision-hash": `${name}-${hash}` }
          : { "pod-template-hash": hash }),
      },
      component,
      replicas,
    });
  }
  return out;
}

function pod(w: Workload, replica: number, i: number, random: () => number): object {
  const name =
    w.kind === "StatefulSet" ? `${w.name}-${replica}` : `${w.name}-${uid(random).slice(0, 5)}`;
  const ip = address(i);
  const nodeName = `node-${i % NODES}`;
  const hostIP = `198.19.255.${i % NODES}`;
  const image = `registry.example.com/${w.labels.app}/${w.component}:1.${replica % 4}.0`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      annotations: { "prometheus.io/scrape": "true" },
      creationTimestamp: TIME,
      generateName: `${w.name}-`,
      labels: {
        ...w.labels,
        ...(w.kind === "StatefulSet"
          ? {
              "statefulset.kubernetes.io/pod-name": name,
              "apps.kubernetes.io/pod-index": String(replica),
            }
          : {}),
      },
      name,
      namespace: w.namespace,
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          blockOwnerDeletion: true,
          controller: true,
          kind: w.kind,
          name: w.name,
          uid: uid(random),
        },
      ],
      resourceVersion: String(100_000 + i),
      uid: uid(random),
    },
    spec: {
      containers: [
        {
          image,
          imagePullPolicy: "IfNotPresent",
          name: "main",
          ports: PORTS[w.component]!.map((p) => ({ ...p, protocol: "TCP" })),
          resources: {
            limits: { cpu: "500m", memory: "512Mi" },
            requests: { cpu: "100m", memory: "128Mi" },
          },
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          volumeMounts: [
            {
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              name: "kube-api-access",
              readOnly: true,
            },
          ],
        },
      ],
      dnsPolicy: "ClusterFirst",
      enableServiceLinks: true,
      nodeName,
      preemptionPolicy: "PreemptLowerPriority",
      priority: 0,
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
      securityContext: {},
      serviceAccount: "default",
      serviceAccountName: "default",
      terminationGracePeriodSeconds: 30,
      tolerations: [
        {
          effect: "NoExecute",
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          tolerationSeconds: 300,
        },
        {
          effect: "NoExecute",
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          tolerationSeconds: 300,
        },
      ],
      volumes: [
        {
          name: "kube-api-access",
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              {
                configMap: {
                  items: [{ key: "ca.crt", path: "ca.crt" }],
                  name: "kube-root-ca.crt",
                },
              },
            ],
          },
        },
      ],
    },
    status: {
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"].map(
        (type) => ({ lastProbeTime: null, lastTransitionTime: TIME, status: "True", type }),
      ),
      containerStatuses: [
        {
          containerID: `containerd://${uid(random).replaceAll("-", "")}`,
          image,
          imageID: `${image}@sha256:${uid(random).replaceAll("-", "")}`,
          lastState: {},
          name: "main",
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: TIME } },
        },
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      qosClass: "Burstable",
      startTime: TIME,
    },
  };
}

/** The dump's objects, in the order kubectl lists them. */
export function generateDump(shape: DumpShape): object[] {
  const random = rng(shape.seed ?? 7);
  const ws = workloads(shape, random);
  const namespaces = new Set(ws.map((w) => w.namespace)).size;
  const items: object[] = [];
  for (let n = 0; n < namespaces; n++) items.push(namespace(n));
  for (let k = 0; k < NODES; k++) items.push(node(k));
  let i = 0;
  for (const w of ws) for (let r = 0; r < w.replicas; r++) items.push(pod(w, r, i++, random));
  const policyShape = { pods: shape.pods, namespaces, policies: shape.policies };
  for (let j = 0; j < shape.policies; j++) items.push(generatePolicy(j, policyShape, random));
  return items;
}

/** The dump as one `List` document, as `kubectl get -o yaml` writes it. */
export function dumpList(items: readonly object[]): object {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}
