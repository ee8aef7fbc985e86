// A compiled policy's rules by address: every selector becomes a reference to a shared set.
import type {
  CompiledSelector,
  Direction,
  EntityMatch,
  Policy,
  PolicyRef,
  PortMatch,
  Rule,
  ServiceMatch,
  TargetPort,
} from "../policy/index.ts";
import type { DpEntity, DpPolicy, DpRule, PolicyId, PortRange, SetId, SetSpec } from "./types.ts";

export function policyId(ref: PolicyRef): PolicyId {
  return `${ref.kind}/${ref.namespace ?? ""}/${ref.name}` as PolicyId;
}

const ALL = "all()";

export function addressSet(selector: CompiledSelector): SetSpec {
  return { id: `sel:${selector.key}` as SetId, kind: "addresses", selector: selector.key };
}

export function namedPortSet(selectorKey: string, portName: string): SetSpec {
  return {
    id: `np:${portName}:${selectorKey}` as SetId,
    kind: "named-ports",
    selector: selectorKey,
    portName,
  };
}

/** The endpoints of a Service's EndpointSlices: addresses, or address-port on a destination. */
export function sliceSet(service: string, withPorts: boolean): SetSpec {
  return withPorts
    ? { id: `svcp:${service}` as SetId, kind: "named-ports", selector: "", service }
    : { id: `svc:${service}` as SetId, kind: "addresses", selector: "", service };
}

/** A Service's pods (no slices known) on its target ports. */
export function targetPortSet(
  selector: CompiledSelector,
  targetPorts: readonly TargetPort[],
): SetSpec {
  const ports = targetPorts.map((t) => `${t.protocol}:${t.port}`).join(",");
  return {
    id: `tp:${ports}:${selector.key}` as SetId,
    kind: "named-ports",
    selector: selector.key,
    targetPorts,
  };
}

export function nodeSet(selector: CompiledSelector): SetSpec {
  return { id: `node:${selector.key}` as SetId, kind: "nodes", selector: selector.key };
}

export interface ScannedPolicy {
  readonly policy: DpPolicy;
  /** Every set the rules refer to, each once. */
  readonly sets: ReadonlyMap<SetId, SetSpec>;
  /** The compiled selectors behind the sets, for the member calculator. */
  readonly selectors: ReadonlyMap<string, CompiledSelector>;
}

/**
 * Rules relative to the subject's namespace (legacy ANP sameLabels) cannot be expressed by
 * address sets. They are rendered conservatively: an Allow or Pass is dropped (never opens
 * more), a Deny or Log is kept without the restriction (never opens more either).
 */
function relativeToSubject(m: EntityMatch): boolean {
  return m.sameNamespaceLabels !== undefined || m.notSameNamespaceLabels !== undefined;
}

export function scanPolicy(p: Policy): ScannedPolicy {
  const sets = new Map<SetId, SetSpec>();
  const selectors = new Map<string, CompiledSelector>();
  const use = (spec: SetSpec, sel?: CompiledSelector): SetId => {
    sets.set(spec.id, spec);
    if (sel) selectors.set(sel.key, sel);
    return spec.id;
  };

  // A Service side as sets: its slices' endpoints, or its pods; `any` (a Deny naming a missing
  // Service) adds no condition; `none` drops the rule (below).
  const service = (s: ServiceMatch | undefined): DpEntity => {
    if (s?.via === "slices") {
      const id = use(sliceSet(s.key, s.withPorts));
      return s.withPorts ? { ports: [], namedPortSets: [id] } : { set: id };
    }
    if (s?.via !== "selector") return {};
    const sel = s.selector!;
    if (!s.withPorts) return { set: use(addressSet(sel), sel) };
    return { ports: [], namedPortSets: [use(targetPortSet(sel, s.targetPorts ?? []), sel)] };
  };

  const entity = (m: EntityMatch, subjectSide: boolean): DpEntity => {
    // Named ports are resolved on the workloads this side can be: its selector, or the
    // policy's own subjects when this side is the endpoint the policy applies to.
    const portOwner = m.selector ?? (subjectSide ? p.selector : undefined);
    if (portOwner) selectors.set(portOwner.key, portOwner);
    const split = (pms: readonly PortMatch[] | undefined) => {
      const ranges: PortRange[] = [];
      const named: SetId[] = [];
      for (const pm of pms ?? []) {
        if (pm.kind === "range") ranges.push({ from: pm.from, to: pm.to });
        else named.push(use(namedPortSet(portOwner?.key ?? ALL, pm.name)));
      }
      return { ranges, named };
    };
    const ports = split(m.ports);
    const notPorts = split(m.notPorts);
    return {
      ...service(m.service),
      ...(m.selector ? { set: use(addressSet(m.selector), m.selector) } : {}),
      ...(m.notSelector ? { notSet: use(addressSet(m.notSelector), m.notSelector) } : {}),
      ...(m.nets ? { nets: m.nets } : {}),
      ...(m.notNets ? { notNets: m.notNets } : {}),
      ...(m.ports ? { ports: ports.ranges, namedPortSets: ports.named } : {}),
      ...(m.notPorts ? { notPorts: notPorts.ranges, notNamedPortSets: notPorts.named } : {}),
      ...(m.nodeSelector ? { nodeSet: use(nodeSet(m.nodeSelector), m.nodeSelector) } : {}),
    };
  };

  const rules = (direction: Direction, list: readonly Rule[]): DpRule[] => {
    const out: DpRule[] = [];
    for (const r of list) {
      const relative = relativeToSubject(r.source) || relativeToSubject(r.destination);
      if (relative && (r.action === "Allow" || r.action === "Pass")) continue;
      // A Service without endpoints (or missing, outside a Deny) matches nothing.
      if (r.source.service?.via === "none" || r.destination.service?.via === "none") continue;
      out.push({
        action: r.action,
        ...(r.protocol !== undefined ? { protocol: r.protocol } : {}),
        ...(r.notProtocol !== undefined ? { notProtocol: r.notProtocol } : {}),
        ...(r.ipVersion !== undefined ? { ipVersion: r.ipVersion } : {}),
        ...(r.icmp ? { icmp: r.icmp } : {}),
        ...(r.notIcmp ? { notIcmp: r.notIcmp } : {}),
        source: entity(r.source, direction === "egress"),
        destination: entity(r.destination, direction === "ingress"),
        origin: r.origin,
      });
    }
    return out;
  };

  return {
    policy: {
      id: policyId(p.ref),
      tier: p.tier,
      ingress: p.types.includes("ingress") ? rules("ingress", p.ingress) : [],
      egress: p.types.includes("egress") ? rules("egress", p.egress) : [],
    },
    sets,
    selectors,
  };
}
