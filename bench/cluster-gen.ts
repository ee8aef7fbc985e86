// Deterministic synthetic clusters for the benches: namespaces of applications, pods with
// realistic labels, and a mix of Kubernetes and microseg policies over them.
import { type Resource, validResource } from "../src/model/index.ts";
import { rng } from "./lib.ts";

export interface ClusterShape {
  pods: number;
  namespaces: number;
  policies: number;
  seed?: number;
}

const APPS_PER_NAMESPACE = 5;
const COMPONENTS = ["web", "api", "worker", "db", "cache"];

export function podAddress(i: number): string {
  // 198.18.0.0/15 holds 131,072 addresses: enough for every bench size.
  return `198.${18 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

export function generateNamespaces(shape: ClusterShape): Resource[] {
  return Array.from({ length: shape.namespaces }, (_, n) =>
    validResource({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: `ns-${n}`,
        labels: { team: `team-${n % 50}`, env: n % 3 === 0 ? "prod" : "dev" },
      },
    }),
  );
}

export function generatePod(i: number, shape: ClusterShape, random: () => number): Resource {
  const ns = i % shape.namespaces;
  const app = Math.floor(random() * APPS_PER_NAMESPACE);
  const component = COMPONENTS[Math.floor(random() * COMPONENTS.length)]!;
  const ip = podAddress(i);
  return validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `pod-${i}`,
      namespace: `ns-${ns}`,
      labels: {
        app: `app-${app}`,
        component,
        version: `v${Math.floor(random() * 3)}`,
        "pod-template-hash": `h${i % 997}`,
      },
    },
    spec: {
      nodeName: `node-${i % 100}`,
      containers: [
        { name: "main", ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] },
      ],
    },
    status: { podIP: ip, podIPs: [{ ip }] },
  });
}

export function generatePolicy(j: number, shape: ClusterShape, random: () => number): Resource {
  const ns = `ns-${j % shape.namespaces}`;
  const app = `app-${Math.floor(random() * APPS_PER_NAMESPACE)}`;
  const peerApp = `app-${Math.floor(random() * APPS_PER_NAMESPACE)}`;
  const component = COMPONENTS[Math.floor(random() * COMPONENTS.length)]!;
  if (j % 2 === 0) {
    return validResource({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: `knp-${j}`, namespace: ns },
      spec: {
        podSelector: { matchLabels: { app, component, version: `v${(j >> 1) % 3}` } },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [
              {
                podSelector: {
                  matchLabels: {
                    app: peerApp,
                    component: COMPONENTS[Math.floor(random() * COMPONENTS.length)]!,
                  },
                },
              },
              {
                namespaceSelector: { matchLabels: { team: `team-${j % 50}` } },
                podSelector: { matchLabels: { component: "api", app: peerApp } },
              },
            ],
            ports: [{ protocol: "TCP", port: 8080 }],
          },
        ],
      },
    });
  }
  return validResource({
    apiVersion: "microseg.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `msp-${j}`, namespace: ns },
    spec: {
      order: j % 100,
      selector: `app == "${app}" && component in {"${component}", "${COMPONENTS[j % COMPONENTS.length]}"}`,
      ingress: [
        {
          action: "Deny",
          protocol: "TCP",
          source: { selector: `version == "v${j % 3}" && component == "${component}"` },
          destination: { ports: [22] },
        },
        {
          action: "Allow",
          protocol: "TCP",
          source: { selector: `app in {"${peerApp}", "${app}"} && version != "v${(j >> 1) % 3}"` },
          destination: { ports: ["http"] },
        },
      ],
      egress: [{ action: "Allow", destination: { namespaceSelector: `env == "prod"` } }],
    },
  });
}

export function generateCluster(shape: ClusterShape): Resource[] {
  const random = rng(shape.seed ?? 42);
  const out = generateNamespaces(shape);
  for (let i = 0; i < shape.pods; i++) out.push(generatePod(i, shape, random));
  for (let j = 0; j < shape.policies; j++) out.push(generatePolicy(j, shape, random));
  return out;
}

/**
 * A cluster-wide policy (every pod admits metrics scrapes from every pod, and may reach any
 * database's http port), so a node's sets hold cluster-wide membership and grow with the
 * cluster, as they do wherever a broad selector is a peer.
 */
export const BROAD_POLICIES: {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: unknown;
}[] = [
  {
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name: "metrics" },
    spec: {
      order: 1,
      selector: "has(app)",
      ingress: [
        {
          action: "Allow",
          protocol: "TCP",
          source: { selector: "has(app)" },
          destination: { ports: [9100] },
        },
      ],
      egress: [
        {
          action: "Allow",
          protocol: "TCP",
          destination: { selector: "component == 'db'", ports: ["http"] },
        },
        { action: "Pass" },
      ],
    },
  },
];
