// Workloads, host endpoints, network sets and nodes as the policy layer sees them.
import { type Address, type Cidr, parseCidr, tryParseAddress } from "../net/cidr.ts";
import type { Labels } from "../selector/index.ts";
import { normalizeProtocol } from "./protocol.ts";
import { effectiveLabels, KUBERNETES_ORCHESTRATOR } from "./scope.ts";
import type { Endpoint, NamedPort, Node, Protocol } from "./types.ts";

export interface PodInput {
  metadata: { name: string; namespace?: string | undefined; labels?: Labels | null | undefined };
  spec?: {
    nodeName?: string | null | undefined;
    serviceAccountName?: string | null | undefined;
    hostNetwork?: boolean | null | undefined;
    containers?: Array<{
      ports?: Array<{
        name?: string | null;
        containerPort: number;
        protocol?: string | null;
      }> | null;
    }> | null;
  } | null;
  status?: {
    podIP?: string | null | undefined;
    podIPs?: Array<{ ip: string }> | null | undefined;
    hostIP?: string | null | undefined;
  } | null;
}

export interface WorkloadEndpointInput {
  metadata: { name: string; namespace?: string | undefined; labels?: Labels | null | undefined };
  spec: {
    node?: string | null;
    orchestrator?: string | null;
    serviceAccountName?: string | null;
    ipNetworks?: string[] | null;
    ports?: Array<{ name: string; port: number; protocol?: string | number | null }> | null;
    interfaceName?: string | null;
    allowSpoofedSourcePrefixes?: string[] | null;
  };
}

export interface HostEndpointInput {
  metadata: { name: string; labels?: Labels | null | undefined };
  spec: {
    node?: string | null;
    expectedIPs?: string[] | null;
    ports?: Array<{ name: string; port: number; protocol?: string | number | null }> | null;
  };
}

export interface NetworkSetInput {
  kind: "NetworkSet" | "GlobalNetworkSet";
  metadata: { name: string; namespace?: string | undefined; labels?: Labels | null | undefined };
  spec: { nets?: string[] | null };
}

export interface NodeInput {
  metadata: { name: string; labels?: Labels | null | undefined };
  status?: { addresses?: Array<{ type?: string; address: string }> | null } | null;
}

function addresses(texts: Iterable<string | null | undefined>): Address[] {
  const out: Address[] = [];
  const seen = new Set<string>();
  for (const t of texts) {
    if (!t) continue;
    // WorkloadEndpoint ipNetworks are CIDRs (/32, /128); take the address part.
    const a = tryParseAddress(t.split("/")[0]!);
    if (a && !seen.has(a.text)) {
      seen.add(a.text);
      out.push(a);
    }
  }
  return out;
}

function protocolOf(p: string | number | null | undefined): Protocol {
  return p === undefined || p === null ? "TCP" : normalizeProtocol(p);
}

type NamespaceLabels = (namespace: string) => Labels | undefined;

export function podEndpoint(
  pod: PodInput,
  nsLabels: NamespaceLabels,
  hostAddress?: Address,
): Endpoint {
  const namespace = pod.metadata.namespace ?? "default";
  const spec = pod.spec ?? {};
  const hostNetwork = spec.hostNetwork === true;
  const status = pod.status ?? {};
  let addrs = addresses([...(status.podIPs ?? []).map((p) => p.ip), status.podIP]);
  if (hostNetwork && addrs.length === 0) addrs = addresses([status.hostIP, hostAddress?.text]);
  const ports: NamedPort[] = [];
  for (const c of spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name)
        ports.push({ name: p.name, port: p.containerPort, protocol: protocolOf(p.protocol) });
    }
  }
  return {
    id: `${namespace}/${pod.metadata.name}`,
    kind: "Pod",
    name: pod.metadata.name,
    namespace,
    labels: effectiveLabels({
      labels: pod.metadata.labels ?? {},
      namespace,
      namespaceLabels: nsLabels(namespace) ?? {},
      serviceAccount: spec.serviceAccountName ?? "default",
      orchestrator: KUBERNETES_ORCHESTRATOR,
    }),
    addresses: addrs,
    nets: [],
    ports,
    ...(spec.nodeName ? { node: spec.nodeName } : {}),
    hostNetwork,
  };
}

/** Non-Kubernetes workloads carry orchestrator "microseg" unless they say otherwise. */
export function workloadEndpoint(wep: WorkloadEndpointInput, nsLabels: NamespaceLabels): Endpoint {
  const namespace = wep.metadata.namespace ?? "default";
  return {
    id: `${namespace}/${wep.metadata.name}`,
    kind: "WorkloadEndpoint",
    name: wep.metadata.name,
    namespace,
    labels: effectiveLabels({
      labels: wep.metadata.labels ?? {},
      namespace,
      namespaceLabels: nsLabels(namespace) ?? {},
      ...(wep.spec.serviceAccountName ? { serviceAccount: wep.spec.serviceAccountName } : {}),
      orchestrator: wep.spec.orchestrator ?? "microseg",
    }),
    addresses: addresses(wep.spec.ipNetworks ?? []),
    nets: [],
    ports: (wep.spec.ports ?? []).map((p) => ({
      name: p.name,
      port: p.port,
      protocol: protocolOf(p.protocol),
    })),
    ...(wep.spec.node ? { node: wep.spec.node } : {}),
    hostNetwork: false,
    ...(wep.spec.interfaceName ? { interfaceName: wep.spec.interfaceName } : {}),
    ...(wep.spec.allowSpoofedSourcePrefixes?.length
      ? { allowSpoofedSourcePrefixes: wep.spec.allowSpoofedSourcePrefixes.map(parseCidr) }
      : {}),
  };
}

export function hostEndpoint(hep: HostEndpointInput): Endpoint {
  return {
    id: hep.metadata.name,
    kind: "HostEndpoint",
    name: hep.metadata.name,
    labels: effectiveLabels({ labels: hep.metadata.labels ?? {} }),
    addresses: addresses(hep.spec.expectedIPs ?? []),
    nets: [],
    ports: (hep.spec.ports ?? []).map((p) => ({
      name: p.name,
      port: p.port,
      protocol: protocolOf(p.protocol),
    })),
    ...(hep.spec.node ? { node: hep.spec.node } : {}),
    hostNetwork: false,
  };
}

export function networkSet(set: NetworkSetInput, nsLabels: NamespaceLabels): Endpoint {
  const namespace = set.kind === "NetworkSet" ? (set.metadata.namespace ?? "default") : undefined;
  const nets: Cidr[] = (set.spec.nets ?? []).map(parseCidr);
  return {
    id: namespace ? `${namespace}/${set.metadata.name}` : set.metadata.name,
    kind: set.kind,
    name: set.metadata.name,
    ...(namespace ? { namespace } : {}),
    labels: effectiveLabels({
      labels: set.metadata.labels ?? {},
      ...(namespace ? { namespace, namespaceLabels: nsLabels(namespace) ?? {} } : {}),
    }),
    addresses: [],
    nets,
    ports: [],
    hostNetwork: false,
  };
}

export function node(n: NodeInput): Node {
  return {
    name: n.metadata.name,
    labels: n.metadata.labels ?? {},
    addresses: addresses((n.status?.addresses ?? []).map((a) => a.address)),
  };
}
