// Reads the conformance corpus in ../shared/corpus and turns its cluster descriptions into the
// resources microseg loads, so every corpus case runs through the real model and policy code.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const CORPUS_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../shared/corpus",
);

export function corpusFiles(folder: string): string[] {
  const dir = join(CORPUS_DIR, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));
}

export function readCorpus<T>(file: string): T {
  return parse(readFileSync(file, "utf8")) as T;
}

export interface CorpusPort {
  port: number;
  protocol: string;
  name?: string;
}

export interface CorpusPod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ip: string;
  ports?: CorpusPort[];
  nodeName?: string;
  hostNetwork?: boolean;
}

export interface CorpusCluster {
  namespaces: Record<string, { labels?: Record<string, string> }>;
  pods: CorpusPod[];
  nodes?: Array<{ name: string; labels?: Record<string, string>; ip: string }>;
}

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}

/** Namespaces, Pods (container ports keep their names) and Nodes of a corpus cluster. */
export function clusterResources(cluster: CorpusCluster): Resource[] {
  const out: Resource[] = [];
  for (const [name, ns] of Object.entries(cluster.namespaces)) {
    out.push({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: ns.labels ?? {} } });
  }
  for (const n of cluster.nodes ?? []) {
    out.push({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: n.name, labels: n.labels ?? {} },
      status: { addresses: [{ type: "InternalIP", address: n.ip }] },
    });
  }
  for (const p of cluster.pods) {
    out.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels ?? {} },
      spec: {
        ...(p.nodeName ? { nodeName: p.nodeName } : {}),
        ...(p.hostNetwork ? { hostNetwork: true } : {}),
        containers: [
          {
            name: "server",
            image: "registry.k8s.io/e2e-test-images/agnhost",
            ports: (p.ports ?? []).map((port) => ({
              ...(port.name ? { name: port.name } : {}),
              containerPort: port.port,
              protocol: port.protocol,
            })),
          },
        ],
      },
      status: { podIP: p.ip, podIPs: [{ ip: p.ip }], ...(p.hostNetwork ? { hostIP: p.ip } : {}) },
    });
  }
  return out;
}
