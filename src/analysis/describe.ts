// What `describe` says about one object over a policy world: for an endpoint (Pod,
// WorkloadEndpoint, HostEndpoint, and a workload controller, whose pod template is judged as one
// workload) the policies selecting it per direction and tier and its addresses; for a policy the endpoints it selects and its rules in words; for anything else its
// metadata. Pure: the API server serves it (/api/v1/describe), the CLI and the UI print it.

import type { Resource } from "../model/index.ts";
import { CONTROLLER_KINDS, type ResourceIdentity, resourceKey } from "../model/index.ts";
import {
  buildWorld,
  type Direction,
  type Endpoint,
  type HostStage,
  type NamedPort,
  type Policy,
  type PolicyKind,
  type PolicyRef,
  type PortProtocol,
  type Program,
  policyName,
  type TierDefaultAction,
  type World,
} from "../policy/index.ts";
import { ruleInWords } from "./rule-words.ts";

/** The object's own metadata, as stored. */
export interface ObjectSummary {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
  readonly resourceVersion?: string;
}

export interface PolicyEntry extends PolicyRef {
  readonly order?: number;
}

export interface TierEntry {
  readonly tier: string;
  /** A host endpoint's untracked or pre-DNAT stage, walked before its normal tiers. */
  readonly stage?: HostStage;
  readonly order?: number;
  readonly defaultAction: TierDefaultAction;
  /** In evaluation order. */
  readonly policies: readonly PolicyEntry[];
}

export interface DirectionSelection {
  /** Tiers with a policy selecting the endpoint, in evaluation order. */
  readonly tiers: readonly TierEntry[];
  /** Why nothing is enforced in this direction, when nothing is. */
  readonly open?: string;
}

export interface EndpointDescription {
  readonly type: "endpoint";
  readonly object: ObjectSummary;
  readonly endpoint: {
    readonly id: string;
    readonly node?: string;
    readonly addresses: readonly string[];
    readonly hostNetwork: boolean;
    readonly ports: readonly NamedPort[];
    /** Every declared port, named or not (what the matrix shows for it). */
    readonly containerPorts: readonly PortProtocol[];
  };
  readonly ingress: DirectionSelection;
  readonly egress: DirectionSelection;
  /** With staged policies applied, when there are any. */
  readonly staged?: { readonly ingress: DirectionSelection; readonly egress: DirectionSelection };
}

export interface PolicyDescription {
  readonly type: "policy";
  readonly object: ObjectSummary;
  /** Absent for a staged deletion: it stages the removal of `stages`. */
  readonly policy?: {
    readonly kind: PolicyKind;
    readonly tier: string;
    readonly order?: number;
    readonly selector: string;
    readonly types: readonly Direction[];
  };
  /** A staged policy: the enforced policy it would set or delete. */
  readonly stages?: { readonly action: "Set" | "Delete"; readonly target: PolicyEntry };
  /** Endpoint ids the policy applies to, sorted. */
  readonly selects: readonly string[];
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
}

export interface ObjectDescription {
  readonly type: "object";
  readonly object: ObjectSummary;
}

export type Description = EndpointDescription | PolicyDescription | ObjectDescription;

type Described = Resource & {
  readonly metadata: Resource["metadata"] & {
    readonly annotations?: Record<string, string> | null;
    readonly creationTimestamp?: string;
    readonly resourceVersion?: string;
  };
};

function summary(r: Described): ObjectSummary {
  const m = r.metadata;
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: m.name,
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

function entry(p: Policy): PolicyEntry {
  return {
    kind: p.ref.kind,
    ...(p.ref.namespace !== undefined ? { namespace: p.ref.namespace } : {}),
    name: p.ref.name,
    ...(p.ref.writtenName !== undefined ? { writtenName: p.ref.writtenName } : {}),
    ...(p.order !== undefined ? { order: p.order } : {}),
  };
}

function selection(world: World["evaluator"], ep: Endpoint, d: Direction): DirectionSelection {
  if (ep.hostNetwork) {
    return { tiers: [], open: "host-network pods are not subject to pod policy" };
  }
  // A host endpoint's own traffic meets its untracked, then pre-DNAT (ingress), then normal tiers.
  const early: HostStage[] =
    ep.kind !== "HostEndpoint" ? [] : d === "ingress" ? ["untracked", "preDNAT"] : ["untracked"];
  const tiers = [...early, undefined].flatMap((stage) =>
    world.selection(ep, d, stage ?? "normal").map(({ tier, policies }) => ({
      tier: tier.name,
      ...(stage ? { stage } : {}),
      ...(tier.order !== undefined ? { order: tier.order } : {}),
      // Stage tiers end in Pass (Felix): no default drop there.
      defaultAction: stage ? ("Pass" as const) : tier.defaultAction,
      policies: policies.map(entry),
    })),
  );
  return tiers.length ? { tiers } : { tiers, open: "no policy selects this endpoint" };
}

const ENDPOINT_KINDS = new Set(["Pod", "WorkloadEndpoint", "HostEndpoint"]);

/** The workload an object is: itself, or a controller's template (`ns/deployment/web`). */
function endpointId(r: Resource): string {
  const name = CONTROLLER_KINDS.has(r.kind)
    ? `${r.kind.toLowerCase()}/${r.metadata.name}`
    : r.metadata.name;
  return r.metadata.namespace ? `${r.metadata.namespace}/${name}` : name;
}

function describeEndpoint(world: World, r: Described): Description {
  const ep = world.cluster.endpoint(endpointId(r));
  const isTemplate = CONTROLLER_KINDS.has(r.kind) && ep?.kind === "Pod";
  if (!ep || (ep.kind !== r.kind && !isTemplate)) return { type: "object", object: summary(r) };
  const staged = world.staged;
  return {
    type: "endpoint",
    object: summary(r),
    endpoint: {
      id: ep.id,
      ...(ep.node !== undefined ? { node: ep.node } : {}),
      addresses: ep.addresses.map((a) => a.text),
      hostNetwork: ep.hostNetwork,
      ports: ep.ports,
      containerPorts: ep.containerPorts,
    },
    ingress: selection(world.evaluator, ep, "ingress"),
    egress: selection(world.evaluator, ep, "egress"),
    ...(staged
      ? {
          staged: {
            ingress: selection(staged.evaluator, ep, "ingress"),
            egress: selection(staged.evaluator, ep, "egress"),
          },
        }
      : {}),
  };
}

/** The compiled policy kind of a resource: Kubernetes' NetworkPolicy has its own. */
function policyKind(r: Resource): PolicyKind | undefined {
  if (r.apiVersion === "networking.k8s.io/v1") {
    return r.kind === "NetworkPolicy" ? "KubernetesNetworkPolicy" : undefined;
  }
  const kinds: readonly string[] = [
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedKubernetesNetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
  ];
  return kinds.includes(r.kind) ? (r.kind as PolicyKind) : undefined;
}

function findPolicy(program: Program | undefined, ref: PolicyRef): Policy | undefined {
  for (const tier of program?.tiers ?? []) {
    for (const p of tier.policies) {
      if (p.ref.kind === ref.kind && p.ref.name === ref.name && p.ref.namespace === ref.namespace)
        return p;
    }
  }
  return undefined;
}

/** What a staged kind stages: the enforced kind of the same namespace and name. */
function stagedTarget(kind: PolicyKind, r: Resource): PolicyEntry | undefined {
  const target: Partial<Record<PolicyKind, PolicyKind>> = {
    StagedNetworkPolicy: "NetworkPolicy",
    StagedGlobalNetworkPolicy: "GlobalNetworkPolicy",
    StagedKubernetesNetworkPolicy: "KubernetesNetworkPolicy",
  };
  const enforced = target[kind];
  if (!enforced) return undefined;
  const ns = r.metadata.namespace;
  return { kind: enforced, ...(ns !== undefined ? { namespace: ns } : {}), name: r.metadata.name };
}

/** Calico kinds drop their tier's prefix from the name (`security.blue-ldap` is `blue-ldap`). */
function compiledName(r: Resource, kind: PolicyKind): string {
  const calico = r.apiVersion === "microseg.io/v1" && kind !== "StagedKubernetesNetworkPolicy";
  const tier = ("spec" in r ? (r.spec as { tier?: string }) : undefined)?.tier ?? "default";
  return calico ? policyName(r.metadata.name, tier) : r.metadata.name;
}

function describePolicy(world: World, r: Described, kind: PolicyKind): Description {
  const ref: PolicyRef = {
    kind,
    ...(r.metadata.namespace !== undefined ? { namespace: r.metadata.namespace } : {}),
    name: compiledName(r, kind),
  };
  const target = stagedTarget(kind, r);
  const program = target ? world.staged?.program : world.program;
  const policy = findPolicy(program, ref);
  const action = ("spec" in r ? (r.spec as { stagedAction?: string }) : undefined)?.stagedAction;
  const stages = target
    ? { action: action === "Delete" ? ("Delete" as const) : ("Set" as const), target }
    : undefined;
  if (!policy) {
    return {
      type: "policy",
      object: summary(r),
      ...(stages ? { stages } : {}),
      selects: [],
      ingress: [],
      egress: [],
    };
  }
  const selects = world.cluster.endpoints
    .filter((ep) => !ep.hostNetwork && policy.selector.matches(ep.labels))
    .map((ep) => ep.id)
    .sort();
  return {
    type: "policy",
    object: summary(r),
    policy: {
      kind,
      tier: policy.tier,
      ...(policy.order !== undefined ? { order: policy.order } : {}),
      selector: policy.selector.key,
      types: policy.types,
    },
    ...(stages ? { stages } : {}),
    selects,
    ingress: policy.ingress.map(ruleInWords),
    egress: policy.egress.map(ruleInWords),
  };
}

/** Describes `object` (one of the world's resources) in that world. */
export function describeIn(world: World, object: Described): Description {
  const endpoint = ENDPOINT_KINDS.has(object.kind) || CONTROLLER_KINDS.has(object.kind);
  if (endpoint && object.apiVersion !== "networking.k8s.io/v1") {
    return describeEndpoint(world, object);
  }
  const kind = policyKind(object);
  return kind ? describePolicy(world, object, kind) : { type: "object", object: summary(object) };
}

/** Describes the object `target` names among `resources`; undefined when it is not there. */
export function describeResource(
  resources: readonly Described[],
  target: ResourceIdentity,
): Description | undefined {
  const key = resourceKey(target);
  const object = resources.find((r) => resourceKey(r) === key);
  return object ? describeIn(buildWorld(resources), object) : undefined;
}
