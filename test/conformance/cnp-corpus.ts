// The ClusterNetworkPolicy conformance suite transcribed from kubernetes-sigs/network-policy-api
// (test/conformance/cnp, see its README): each file's steps as a sequence of parts, each part
// the complete resource set in effect (the file's manifests with the mutations so far applied)
// and the connections to check. Shared by the model test and the lab test.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { type CorpusCluster, clusterResources, type Resource } from "../corpus/corpus.ts";

export const CNP_DIR = join(dirname(fileURLToPath(import.meta.url)), "cnp");

export interface CnpCheck {
  from: string;
  to: string;
  toIP: string;
  port: number;
  protocol: "TCP" | "UDP" | "SCTP";
  expected: boolean;
}

type Path = Array<string | number>;
type Action =
  | { swapRules: { policy: string; field: "ingress" | "egress"; i: number; j: number } }
  | { setField: { policy: string; path: Path; value: unknown } }
  | { prependRules: { policy: string; field: "ingress" | "egress"; rules: unknown[] } }
  | { setNamespaceLabels: { namespace: string; labels: Record<string, string> } }
  | { delete: { apiVersion: string; kind: string; namespace?: string; name: string } };

interface CnpFile {
  name: string;
  source: string;
  features: string[];
  policies: Resource[];
  steps: Array<{ name: string; parts: Array<{ actions?: Action[]; checks: CnpCheck[] }> }>;
}

export interface CnpPart {
  /** `<file>: <step> (part n)`. */
  name: string;
  resources: Resource[];
  checks: CnpCheck[];
}

export interface CnpCase {
  name: string;
  source: string;
  features: string[];
  steps: Array<{ name: string; parts: CnpPart[] }>;
}

export interface CnpCluster extends CorpusCluster {
  hostNetworkPorts: number[];
  pods: Array<CorpusCluster["pods"][number] & { serves: CnpServed[] }>;
}

export interface CnpServed {
  port: number;
  protocol: "TCP" | "UDP" | "SCTP";
}

export function cnpCluster(): CnpCluster {
  return parse(readFileSync(join(CNP_DIR, "cluster.yaml"), "utf8"));
}

type Json = Record<string | number, unknown>;

function at(root: unknown, path: Path): { parent: Json; key: string | number } {
  let node = root as Json;
  for (const key of path.slice(0, -1)) {
    node = node[key] as Json;
    if (node === undefined) throw new Error(`no ${path.join(".")}`);
  }
  return { parent: node, key: path[path.length - 1]! };
}

function policy(policies: Resource[], name: string): Resource & { spec: Json } {
  const p = policies.find((r) => r.kind === "ClusterNetworkPolicy" && r.metadata.name === name);
  if (!p) throw new Error(`no ClusterNetworkPolicy ${name}`);
  return p as Resource & { spec: Json };
}

/** Mutations are cumulative within a file, as upstream patches the live objects. */
function applyAction(a: Action, cluster: CorpusCluster, policies: Resource[]): Resource[] {
  if ("swapRules" in a) {
    const rules = policy(policies, a.swapRules.policy).spec[a.swapRules.field] as unknown[];
    const { i, j } = a.swapRules;
    [rules[i], rules[j]] = [rules[j], rules[i]];
  } else if ("setField" in a) {
    const { parent, key } = at(policy(policies, a.setField.policy), a.setField.path);
    parent[key] = structuredClone(a.setField.value);
  } else if ("prependRules" in a) {
    const spec = policy(policies, a.prependRules.policy).spec;
    const field = a.prependRules.field;
    spec[field] = [...structuredClone(a.prependRules.rules), ...((spec[field] as unknown[]) ?? [])];
  } else if ("setNamespaceLabels" in a) {
    const ns = cluster.namespaces[a.setNamespaceLabels.namespace];
    if (!ns) throw new Error(`no namespace ${a.setNamespaceLabels.namespace}`);
    // Labels are replaced; the API server keeps kubernetes.io/metadata.name (the model adds it).
    ns.labels = { ...a.setNamespaceLabels.labels };
  } else {
    const d = a.delete;
    const kept = policies.filter(
      (r) =>
        !(
          r.kind === d.kind &&
          r.apiVersion === d.apiVersion &&
          r.metadata.name === d.name &&
          r.metadata.namespace === d.namespace
        ),
    );
    if (kept.length === policies.length) throw new Error(`no ${d.kind} ${d.name} to delete`);
    return kept;
  }
  return policies;
}

export function cnpCorpusFiles(): string[] {
  return readdirSync(CNP_DIR)
    .filter((f) => f.startsWith("CNP") && f.endsWith(".yaml"))
    .sort()
    .map((f) => join(CNP_DIR, f));
}

export function readCnpCase(file: string): CnpCase {
  const c = parse(readFileSync(file, "utf8")) as CnpFile;
  const cluster = cnpCluster();
  let policies = structuredClone(c.policies);
  return {
    name: c.name,
    source: c.source,
    features: c.features,
    steps: c.steps.map((step) => ({
      name: step.name,
      parts: step.parts.map((part, n) => {
        for (const a of part.actions ?? []) policies = applyAction(a, cluster, policies);
        return {
          name: `${c.name}: ${step.name}${step.parts.length > 1 ? ` (part ${n + 1})` : ""}`,
          resources: [...clusterResources(cluster), ...structuredClone(policies)],
          checks: part.checks,
        };
      }),
    })),
  };
}
