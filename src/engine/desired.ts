// The desired dataplane state computed from scratch, by scanning everything: the reference the
// incremental engine must equal after every event.
import type { Resource } from "../model/index.ts";
import type { Direction } from "../policy/index.ts";
import { buildWorld } from "../policy/index.ts";
import { compileSelector, parseSelector } from "../selector/index.ts";
import { isLocalEndpoint } from "./graph.ts";
import { type HostInterfaces, hostBinding } from "./host-binding.ts";
import { type MemberKey, memberKey, type SetMember } from "./members.ts";
import { policyId, scanPolicy } from "./rules.ts";
import { entityMembers, nodeMembers, sliceMembers } from "./set-members.ts";
import type {
  DataplaneState,
  DpEndpoint,
  DpPolicy,
  EndpointId,
  PolicyId,
  SetId,
  SetSpec,
} from "./types.ts";
import { DEFAULT_POD_INTERFACE_PREFIX, endpointShape } from "./workload-interface.ts";

export function desiredState(
  resources: readonly Resource[],
  node?: string,
  podInterfacePrefix = DEFAULT_POD_INTERFACE_PREFIX,
  hostInterfaces: HostInterfaces = new Map(),
): DataplaneState {
  const world = buildWorld(resources);
  const { cluster, evaluator } = world;
  const endpoints = new Map<EndpointId, DpEndpoint>();
  const policies = new Map<PolicyId, DpPolicy>();
  const specs = new Map<SetId, SetSpec>();
  for (const ep of cluster.endpoints) {
    if (!isLocalEndpoint(ep, node)) continue;
    // Stage tiers (untracked, pre-DNAT) end in Pass, as the engine's resolver makes them.
    const tiers = (
      direction: Direction,
      stage: "normal" | "untracked" | "preDNAT" | "forward" = "normal",
    ) =>
      evaluator.selection(ep, direction, stage).map(({ tier, policies: selected }) => {
        for (const p of selected) {
          const scanned = scanPolicy(p);
          policies.set(scanned.policy.id, scanned.policy);
          for (const [id, spec] of scanned.sets) specs.set(id, spec);
        }
        const pass = stage === "untracked" || stage === "preDNAT";
        return {
          name: tier.name,
          defaultAction: pass ? ("Pass" as const) : tier.defaultAction,
          // The program's tiers are already in (order, name) order.
          policies: selected.map((p) => policyId(p.ref)),
        };
      });
    const id = ep.id as EndpointId;
    const shape = endpointShape(ep, podInterfacePrefix);
    endpoints.set(id, {
      id,
      ...shape,
      ingress: tiers("ingress"),
      egress: tiers("egress"),
      ...(ep.kind === "HostEndpoint"
        ? {
            hostStages: {
              interfaces: hostBinding(ep.interfaceName, shape.addresses, hostInterfaces),
              untracked: {
                ingress: tiers("ingress", "untracked"),
                egress: tiers("egress", "untracked"),
              },
              preDNAT: tiers("ingress", "preDNAT"),
              forward: { ingress: tiers("ingress", "forward"), egress: tiers("egress", "forward") },
            },
          }
        : {}),
    });
  }
  const sets = new Map<SetId, { spec: SetSpec; members: Map<MemberKey, SetMember> }>();
  const entities = [...cluster.endpoints.filter((e) => !e.hostNetwork), ...cluster.networkSets];
  for (const [id, spec] of specs) {
    const members = new Map<MemberKey, SetMember>();
    const add = (ms: readonly SetMember[]) => {
      for (const m of ms) members.set(memberKey(m), m);
    };
    if (spec.service !== undefined) {
      for (const slice of cluster.serviceSlices(spec.service)) add(sliceMembers(spec, slice));
    } else if (spec.kind === "nodes") {
      const matches = compileSelector(parseSelector(spec.selector));
      for (const n of cluster.nodes) if (matches(n.labels)) add(nodeMembers(n));
    } else {
      const matches = compileSelector(parseSelector(spec.selector));
      for (const e of entities) if (matches(e.labels)) add(entityMembers(spec, e));
    }
    sets.set(id, { spec, members });
  }
  return { sets, policies, endpoints };
}
