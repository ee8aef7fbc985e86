// The Kubernetes NetworkPolicy corpus's file format (see ../shared/corpus/k8s-netpol/README.md):
// every case as a list of steps, each with its complete cluster and policies.
import { basename } from "node:path";
import { type CorpusCluster, corpusFiles, type Resource, readCorpus } from "./corpus.ts";

export interface NetpolProbe {
  port: number;
  protocol: string;
  /** from -> to -> expected; the outer key is the source. */
  expected: Record<string, Record<string, boolean>>;
}

export interface NetpolCheck {
  from: string;
  to: string;
  port: number;
  protocol: string;
  expected: boolean;
}

export interface NetpolStep {
  /** `<file> step <n>: <actions>`. */
  name: string;
  cluster: CorpusCluster;
  policies: Resource[];
  probes: NetpolProbe[];
  checks: NetpolCheck[];
}

interface CaseFile {
  cluster?: CorpusCluster;
  policies?: Resource[];
  probes?: NetpolProbe[];
  steps?: Array<{
    actions?: string[];
    cluster?: CorpusCluster;
    policies: Resource[];
    probes?: NetpolProbe[];
    checks?: NetpolCheck[];
  }>;
}

/** One file's steps; single-step files have top-level policies and probes. */
export function netpolCaseSteps(file: string): NetpolStep[] {
  const c = readCorpus<CaseFile>(file);
  const steps = c.steps ?? [{ policies: c.policies ?? [], probes: c.probes ?? [] }];
  return steps.map((step, i) => {
    const cluster = "cluster" in step && step.cluster ? step.cluster : c.cluster;
    if (!cluster) throw new Error(`${basename(file)} step ${i + 1} has no cluster`);
    const actions = "actions" in step && step.actions ? `: ${step.actions.join("; ")}` : "";
    return {
      name: `${basename(file, ".yaml")} step ${i + 1}${actions}`,
      cluster,
      policies: step.policies,
      probes: step.probes ?? [],
      checks: "checks" in step ? (step.checks ?? []) : [],
    };
  });
}

export function netpolCorpusFiles(): string[] {
  return corpusFiles("k8s-netpol");
}
