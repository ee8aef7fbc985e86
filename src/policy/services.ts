// Kubernetes Services as Calico rule peers (`services: {name, namespace}`): what a Service and
// its EndpointSlices mean, how a rule's Service match is resolved when the policy is compiled,
// and whether a flow's peer is one of the Service's endpoints.
import type { EndpointSlice, Service } from "../model/index.ts";
import { SERVICE_NAME_LABEL } from "../model/index.ts";
import { tryParseAddress } from "../net/cidr.ts";
import { andSelectors, equalsSelector } from "../selector/index.ts";
import { normalizeProtocol } from "./protocol.ts";
import { inNamespace, PODS_ONLY, type SelectorCache } from "./scope.ts";
import type {
  FlowPeer,
  Policy,
  Protocol,
  RuleAction,
  ServiceMatch,
  SliceEndpoints,
  TargetPort,
} from "./types.ts";

/** What a rule naming a Service needs of it. */
export interface ServiceView {
  /** The pods it selects (unset: no selector, or ExternalName). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly targetPorts: readonly TargetPort[];
  /** Whether any EndpointSlice of it is known: then they, not the selector, give its endpoints. */
  readonly hasSlices: boolean;
}

export type ServiceLookup = (namespace: string, name: string) => ServiceView | undefined;

export const serviceKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export function serviceView(s: Service, hasSlices: boolean): ServiceView {
  const selector = s.spec.selector ?? {};
  // An empty selector selects nothing in Kubernetes (no endpoints are managed for it).
  const selects = s.spec.type !== "ExternalName" && Object.keys(selector).length > 0;
  return {
    ...(selects ? { selector } : {}),
    targetPorts: (s.spec.ports ?? []).map((p) => ({
      protocol: normalizeProtocol(p.protocol),
      port: p.targetPort ?? p.port,
    })),
    hasSlices,
  };
}

/** The Service an EndpointSlice belongs to (`namespace/name`), from the controller's label. */
export function sliceService(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return name === undefined ? undefined : serviceKey(slice.metadata.namespace, name);
}

/** Every address listed, ready or not, and the ports that carry a number (FQDN slices: none). */
export function sliceEndpoints(slice: EndpointSlice, service: string): SliceEndpoints {
  const addresses = [];
  for (const e of slice.endpoints ?? []) {
    for (const text of e.addresses) {
      const a = tryParseAddress(text);
      if (a) addresses.push(a);
    }
  }
  const ports = [];
  for (const p of slice.ports ?? []) {
    if (p.port !== undefined) ports.push({ port: p.port, protocol: normalizeProtocol(p.protocol) });
  }
  return { service, addresses, ports };
}

/**
 * A rule side's Service, resolved now: its slices when it has any, else its selector's pods of
 * its namespace. A Service that does not exist matches nothing in an Allow, Pass or Log rule and
 * every peer in a Deny rule, so a name that does not resolve never enforces less than written.
 */
export function resolveServiceMatch(
  ref: { readonly name: string; readonly namespace?: string | undefined },
  policyNamespace: string | undefined,
  withPorts: boolean,
  action: RuleAction,
  lookup: ServiceLookup,
  cache: SelectorCache,
): ServiceMatch {
  // The model requires a namespace in global policies.
  const namespace = ref.namespace ?? policyNamespace ?? "";
  const key = serviceKey(namespace, ref.name);
  const view = lookup(namespace, ref.name);
  if (!view) return { key, via: action === "Deny" ? "any" : "none", exists: false, withPorts };
  if (view.hasSlices) return { key, via: "slices", exists: true, withPorts };
  if (!view.selector) return { key, via: "none", exists: true, withPorts };
  const labels = Object.entries(view.selector).map(([k, v]) => equalsSelector(k, v));
  return {
    key,
    via: "selector",
    exists: true,
    withPorts,
    selector: cache.compile(andSelectors(inNamespace(namespace), PODS_ONLY, ...labels)),
    ...(withPorts ? { targetPorts: view.targetPorts } : {}),
  };
}

export interface SliceContext {
  serviceSlices(service: string): readonly SliceEndpoints[];
}

/** Whether the peer (and, on a destination, its port) is one of the Service's endpoints. */
export function serviceMatches(
  s: ServiceMatch,
  peer: FlowPeer,
  port: number | undefined,
  protocol: Protocol,
  ctx: SliceContext,
): boolean {
  switch (s.via) {
    case "any":
      return true;
    case "none":
      return false;
    case "selector": {
      const ep = peer.endpoint;
      if (!ep || ep.hostNetwork || !s.selector!.matches(ep.labels)) return false;
      if (!s.withPorts) return true;
      if (port === undefined) return false;
      return (s.targetPorts ?? []).some(
        (tp) =>
          tp.protocol === protocol &&
          (typeof tp.port === "number"
            ? tp.port === port
            : ep.ports.some(
                (np) => np.name === tp.port && np.protocol === protocol && np.port === port,
              )),
      );
    }
    case "slices": {
      const address = peer.address;
      if (!address) return false;
      return ctx
        .serviceSlices(s.key)
        .some(
          (slice) =>
            slice.addresses.some((a) => a.text === address.text) &&
            (!s.withPorts || slice.ports.some((p) => p.port === port && p.protocol === protocol)),
        );
    }
  }
}

/** The Services a compiled policy's rules name (`namespace/name`), each once. */
export function servicesOf(policy: Policy): string[] {
  const keys = new Set<string>();
  for (const rule of [...policy.ingress, ...policy.egress]) {
    if (rule.source.service) keys.add(rule.source.service.key);
    if (rule.destination.service) keys.add(rule.destination.service.key);
  }
  return [...keys];
}
