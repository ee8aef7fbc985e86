// From a set of resources to what flows are judged against: the cluster snapshot, the enforced
// program and, where staged policies exist, the program as it would be with them applied.
import { CONTROLLER_KINDS, controllerOf, type Resource, type Service } from "../model/index.ts";
import type { Address } from "../net/cidr.ts";
import type { Labels } from "../selector/index.ts";
import { getOrCreate } from "../util/maps.ts";
import { Cluster } from "./cluster.ts";
import type { TierSpec } from "./compile/tiers.ts";
import { type DeriveContext, deriveResource, type StagedChange } from "./derive.ts";
import { Evaluator } from "./evaluate.ts";
import { buildProgram } from "./program.ts";
import { SelectorCache } from "./scope.ts";
import { serviceKey, serviceView } from "./services.ts";
import type { Endpoint, Node, Policy, Program, SliceEndpoints } from "./types.ts";

export interface World {
  readonly cluster: Cluster;
  readonly program: Program;
  readonly evaluator: Evaluator;
  /** Present when StagedNetworkPolicies exist: the program with them applied. */
  readonly staged?: { readonly program: Program; readonly evaluator: Evaluator };
}

const FIRST_KINDS = new Set(["Namespace", "Node", "ServiceAccount", "Service", "EndpointSlice"]);

export function buildWorld(resources: readonly Resource[]): World {
  return buildWorldWith(resources).world;
}

/** A world and a way to derive more entities against it. */
export interface WorldBuild {
  readonly world: World;
  /**
   * The entity one more resource (a pod, a workload endpoint) derives to against the world's
   * namespaces, service accounts and nodes, without rebuilding the world; undefined when it
   * derives to none (a finished pod, a policy).
   */
  readonly entity: (r: Resource) => Endpoint | undefined;
}

export function buildWorldWith(resources: readonly Resource[]): WorldBuild {
  const namespaces = new Map<string, Labels>();
  const nodes: Node[] = [];
  const nodeAddress = new Map<string, Address | undefined>();
  const accounts = new Map<string, Labels>();
  const services = new Map<string, Service>();
  const slices = new Map<string, SliceEndpoints[]>();
  const ctx: DeriveContext = {
    cache: new SelectorCache(),
    namespaceLabels: (ns) => namespaces.get(ns),
    serviceAccountLabels: (ns, name) => accounts.get(`${ns}/${name}`),
    nodeAddress: (name) => nodeAddress.get(name),
    service: (ns, name) => {
      const key = serviceKey(ns, name);
      const s = services.get(key);
      return s && serviceView(s, slices.has(key));
    },
  };
  // Namespaces, service accounts and nodes first: the entities derived below read them. An object whose
  // controller is in the set is that controller's template already: not counted twice.
  const controllers = new Set(
    resources
      .filter((r) => CONTROLLER_KINDS.has(r.kind))
      .map((r) => `${r.kind}/${r.metadata.namespace ?? ""}/${r.metadata.name}`),
  );
  const rest: Resource[] = [];
  for (const r of resources) {
    const owner = controllerOf(r);
    if (owner !== undefined && controllers.has(owner)) continue;
    const d = FIRST_KINDS.has(r.kind) ? deriveResource(r, ctx) : undefined;
    if (d?.role === "namespace") namespaces.set(d.name, d.labels);
    else if (d?.role === "serviceAccount") accounts.set(`${d.namespace}/${d.name}`, d.labels);
    else if (d?.role === "service") services.set(d.key, d.service);
    else if (d?.role === "slice") getOrCreate(slices, d.slice.service, () => []).push(d.slice);
    else if (d?.role === "node") {
      nodes.push(d.node);
      nodeAddress.set(d.node.name, d.node.addresses[0]);
    } else rest.push(r);
  }
  const endpoints: Endpoint[] = [];
  const sets: Endpoint[] = [];
  const policies: Policy[] = [];
  const staged: StagedChange[] = [];
  const tiers: TierSpec[] = [];
  for (const r of rest) {
    const d = deriveResource(r, ctx);
    if (d.role === "entity") {
      const isSet = d.entity.kind === "NetworkSet" || d.entity.kind === "GlobalNetworkSet";
      (isSet ? sets : endpoints).push(d.entity);
    } else if (d.role === "policy") policies.push(d.policy);
    else if (d.role === "staged") staged.push(d.staged);
    else if (d.role === "tier") tiers.push(d.tier);
  }

  const cluster = new Cluster(endpoints, sets, nodes, namespaces, slices);
  const program = buildProgram(policies, tiers);
  const world: World = { cluster, program, evaluator: new Evaluator(program, cluster) };
  const entity = (r: Resource) => {
    const d = deriveResource(r, ctx);
    return d.role === "entity" ? d.entity : undefined;
  };
  if (staged.length === 0) return { world, entity };
  const stagedProgram = buildProgram(applyStaged(policies, staged), tiers);
  return {
    world: {
      ...world,
      staged: { program: stagedProgram, evaluator: new Evaluator(stagedProgram, cluster) },
    },
    entity,
  };
}

/** The program as it would be with every staged change applied, in order. */
function applyStaged(policies: readonly Policy[], staged: readonly StagedChange[]): Policy[] {
  let out = [...policies];
  for (const { target, policy } of staged) {
    out = out.filter(
      (p) =>
        !(
          p.ref.kind === target.kind &&
          p.ref.namespace === target.namespace &&
          p.ref.name === target.name
        ),
    );
    if (policy) out.push(policy);
  }
  return out;
}
