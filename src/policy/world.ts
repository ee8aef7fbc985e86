// From a set of resources to what flows are judged against: the cluster snapshot, the enforced
// program and, where staged policies exist, the program as it would be with them applied.
import type { Labels } from "../selector/index.ts";
import { Cluster } from "./cluster.ts";
import { type AdminNetworkPolicyInput, compileAdminPolicy } from "./compile/admin.ts";
import { type CalicoPolicyInput, compileCalicoPolicy, policyName } from "./compile/calico.ts";
import { compileKubernetesPolicy, type K8sNetworkPolicyInput } from "./compile/kubernetes.ts";
import { DEFAULT_TIER, type TierSpec } from "./compile/tiers.ts";
import {
  type HostEndpointInput,
  hostEndpoint,
  type NetworkSetInput,
  type NodeInput,
  networkSet,
  node,
  type PodInput,
  podEndpoint,
  type WorkloadEndpointInput,
  workloadEndpoint,
} from "./endpoints.ts";
import { Evaluator } from "./evaluate.ts";
import { buildProgram } from "./program.ts";
import { SelectorCache } from "./scope.ts";
import type { Endpoint, Policy, Program } from "./types.ts";

/** The parts of a resource the policy layer dispatches on; the model's schemas give the rest. */
export interface ResourceLike {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    name: string;
    namespace?: string | undefined;
    labels?: Labels | null | undefined;
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

const group = (r: ResourceLike): string =>
  r.apiVersion.includes("/") ? r.apiVersion.split("/")[0]! : "";

export interface World {
  readonly cluster: Cluster;
  readonly program: Program;
  readonly evaluator: Evaluator;
  /** Present when StagedNetworkPolicies exist: the program with them applied. */
  readonly staged?: { readonly program: Program; readonly evaluator: Evaluator };
}

interface StagedInput extends Omit<CalicoPolicyInput, "spec"> {
  spec: CalicoPolicyInput["spec"] & { stagedAction?: string | null };
}

export function buildWorld(resources: readonly ResourceLike[]): World {
  const cache = new SelectorCache();
  const namespaces = new Map<string, Labels>();
  for (const r of resources) {
    if (r.kind === "Namespace" && group(r) === "") {
      // The API server adds this label to every namespace; dumps may lack it.
      namespaces.set(r.metadata.name, {
        "kubernetes.io/metadata.name": r.metadata.name,
        ...(r.metadata.labels ?? {}),
      });
    }
  }
  const nsLabels = (ns: string) => namespaces.get(ns);
  const nodes = resources
    .filter((r) => r.kind === "Node" && group(r) === "")
    .map((r) => node(r as NodeInput));
  const nodeAddress = new Map(nodes.map((n) => [n.name, n.addresses[0]]));

  const endpoints: Endpoint[] = [];
  const sets: Endpoint[] = [];
  const policies: Policy[] = [];
  const staged: StagedInput[] = [];
  const tiers: TierSpec[] = [];
  for (const r of resources) {
    const g = group(r);
    if (g === "") {
      if (r.kind === "Pod") {
        const pod = r as PodInput;
        const host = pod.spec?.nodeName ? nodeAddress.get(pod.spec.nodeName) : undefined;
        endpoints.push(podEndpoint(pod, nsLabels, host));
      }
    } else if (g === "networking.k8s.io" && r.kind === "NetworkPolicy") {
      policies.push(compileKubernetesPolicy(r as K8sNetworkPolicyInput, cache));
    } else if (g === "policy.networking.k8s.io") {
      policies.push(compileAdminPolicy(r as AdminNetworkPolicyInput, cache));
    } else {
      switch (r.kind) {
        case "NetworkPolicy":
        case "GlobalNetworkPolicy":
          policies.push(compileCalicoPolicy(r as CalicoPolicyInput, cache));
          break;
        case "StagedNetworkPolicy":
          staged.push(r as StagedInput);
          break;
        case "Tier": {
          const spec = (r.spec ?? {}) as { order?: number | null; defaultAction?: string | null };
          tiers.push({
            name: r.metadata.name,
            ...(typeof spec.order === "number" ? { order: spec.order } : {}),
            defaultAction: spec.defaultAction === "Pass" ? "Pass" : "Deny",
          });
          break;
        }
        case "NetworkSet":
        case "GlobalNetworkSet":
          sets.push(networkSet(r as NetworkSetInput, nsLabels));
          break;
        case "WorkloadEndpoint":
          endpoints.push(workloadEndpoint(r as WorkloadEndpointInput, nsLabels));
          break;
        case "HostEndpoint":
          endpoints.push(hostEndpoint(r as HostEndpointInput));
          break;
      }
    }
  }

  const cluster = new Cluster(endpoints, sets, nodes, namespaces);
  const program = buildProgram(policies, tiers);
  const world: World = { cluster, program, evaluator: new Evaluator(program, cluster) };
  if (staged.length === 0) return world;
  const stagedProgram = buildProgram(applyStaged(policies, staged, cache), tiers);
  return {
    ...world,
    staged: { program: stagedProgram, evaluator: new Evaluator(stagedProgram, cluster) },
  };
}

/**
 * A StagedNetworkPolicy previews a change to the NetworkPolicy of the same namespace and name:
 * `Set` (the default) adds or replaces it, `Delete` removes it.
 */
function applyStaged(
  policies: readonly Policy[],
  staged: readonly StagedInput[],
  cache: SelectorCache,
): Policy[] {
  let out = [...policies];
  for (const s of staged) {
    const namespace = s.metadata.namespace ?? "default";
    const name = policyName(s.metadata.name, s.spec.tier ?? DEFAULT_TIER);
    out = out.filter(
      (p) =>
        !(p.ref.kind === "NetworkPolicy" && p.ref.namespace === namespace && p.ref.name === name),
    );
    if (s.spec.stagedAction !== "Delete") {
      const { stagedAction: _, ...spec } = s.spec;
      const compiled = compileCalicoPolicy(
        { kind: "NetworkPolicy", metadata: s.metadata, spec },
        cache,
      );
      out.push({ ...compiled, ref: { ...compiled.ref, kind: "StagedNetworkPolicy" } });
    }
  }
  return out;
}
