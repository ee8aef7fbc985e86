// Workloads, host endpoints, network sets and nodes as the policy layer sees them.
import {
  type GlobalNetworkSet,
  type HostEndpoint,
  type NetworkSet,
  type Node as NodeResource,
  type Pod,
  podTemplateOf,
  type WorkloadController,
  type WorkloadEndpoint,
} from "../model/index.ts";
import { type Address, type Cidr, parseCidr, tryParseAddress } from "../net/cidr.ts";
import type { Labels } from "../selector/index.ts";
import { normalizeProtocol } from "./protocol.ts";
import { effectiveLabels, KUBERNETES_ORCHESTRATOR } from "./scope.ts";
import type { Endpoint, NamedPort, Node, PortProtocol, Protocol } from "./types.ts";

type Ports = WorkloadEndpoint["spec"]["ports"] | HostEndpoint["spec"]["ports"];

// An array grown by `push` from `[]` reserves 17 slots; an endpoint keeps its arrays for its
// lifetime (100k of them in a cluster), so they are returned at their exact length.
const exact = <T>(xs: T[]): T[] => (xs.length === 0 ? xs : xs.slice());

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
  return exact(out);
}

function protocolOf(p: string | number | null | undefined): Protocol {
  return p === undefined || p === null ? "TCP" : normalizeProtocol(p);
}

/** WorkloadEndpoint and HostEndpoint ports; the named ones are what named rule ports see. */
function declaredPorts(list: Ports): Pick<Endpoint, "ports" | "containerPorts"> {
  const ports: NamedPort[] = [];
  const containerPorts: PortProtocol[] = [];
  for (const p of list ?? []) {
    const declared = { port: p.port, protocol: protocolOf(p.protocol) };
    containerPorts.push(declared);
    if (p.name) ports.push({ name: p.name, ...declared });
  }
  return { ports: exact(ports), containerPorts: exact(containerPorts) };
}

type NamespaceLabels = (namespace: string) => Labels | undefined;
/** The labels of a ServiceAccount object, when the set has one. */
export type ServiceAccountLabels = (namespace: string, name: string) => Labels | undefined;
const noAccounts: ServiceAccountLabels = () => undefined;

export function podEndpoint(
  pod: Pod,
  nsLabels: NamespaceLabels,
  hostAddress?: Address,
  saLabels: ServiceAccountLabels = noAccounts,
): Endpoint {
  const { spec } = pod;
  const status = pod.status ?? {};
  let addrs = addresses([...(status.podIPs ?? []).map((p) => p.ip), status.podIP]);
  if (spec.hostNetwork && addrs.length === 0) {
    addrs = addresses([status.hostIP, hostAddress?.text]);
  }
  return kubernetesWorkload(pod.metadata, pod.metadata.name, spec, addrs, nsLabels, saLabels);
}

/**
 * A controller's pod template as one workload, named `kind/name` after its owner (as kubectl
 * writes it) so it never clashes with a pod. It has no address: it is judged by identity.
 */
export function templateEndpoint(
  c: WorkloadController,
  nsLabels: NamespaceLabels,
  saLabels: ServiceAccountLabels = noAccounts,
): Endpoint {
  const template = podTemplateOf(c);
  const name = `${c.kind.toLowerCase()}/${c.metadata.name}`;
  const metadata = { namespace: c.metadata.namespace, labels: template.metadata.labels };
  return kubernetesWorkload(metadata, name, template.spec, [], nsLabels, saLabels);
}

function kubernetesWorkload(
  metadata: { namespace: string; labels?: Record<string, string> | undefined },
  name: string,
  spec: Pod["spec"],
  addrs: Address[],
  nsLabels: NamespaceLabels,
  saLabels: ServiceAccountLabels,
): Endpoint {
  const { namespace } = metadata;
  const ports: NamedPort[] = [];
  const containerPorts: PortProtocol[] = [];
  for (const c of spec.containers) {
    for (const p of c.ports ?? []) {
      const declared = { port: p.containerPort, protocol: protocolOf(p.protocol) };
      containerPorts.push(declared);
      if (p.name) ports.push({ name: p.name, ...declared });
    }
  }
  return {
    // Joined, not concatenated: the id is a key in a dozen maps per pod, and `join` makes one
    // flat string where a concatenation is a rope (and later its flattened copy as well).
    id: [namespace, name].join("/"),
    kind: "Pod",
    name,
    namespace,
    labels: effectiveLabels({
      labels: metadata.labels ?? {},
      namespace,
      namespaceLabels: nsLabels(namespace) ?? {},
      serviceAccount: spec.serviceAccountName ?? "default",
      serviceAccountLabels: saLabels(namespace, spec.serviceAccountName ?? "default") ?? {},
      orchestrator: KUBERNETES_ORCHESTRATOR,
    }),
    addresses: addrs,
    nets: [],
    ports: exact(ports),
    containerPorts: exact(containerPorts),
    ...(spec.nodeName ? { node: spec.nodeName } : {}),
    hostNetwork: spec.hostNetwork === true,
  };
}

/** Non-Kubernetes workloads carry orchestrator "microseg" unless they say otherwise. */
export function workloadEndpoint(
  wep: WorkloadEndpoint,
  nsLabels: NamespaceLabels,
  saLabels: ServiceAccountLabels = noAccounts,
): Endpoint {
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
      ...(wep.spec.serviceAccountName
        ? {
            serviceAccount: wep.spec.serviceAccountName,
            serviceAccountLabels: saLabels(namespace, wep.spec.serviceAccountName) ?? {},
          }
        : {}),
      orchestrator: wep.spec.orchestrator ?? "microseg",
    }),
    addresses: addresses(wep.spec.ipNetworks ?? []),
    nets: [],
    ...declaredPorts(wep.spec.ports),
    ...(wep.spec.node ? { node: wep.spec.node } : {}),
    hostNetwork: false,
    ...(wep.spec.interfaceName ? { interfaceName: wep.spec.interfaceName } : {}),
    ...(wep.spec.allowSpoofedSourcePrefixes?.length
      ? { allowSpoofedSourcePrefixes: wep.spec.allowSpoofedSourcePrefixes.map(parseCidr) }
      : {}),
  };
}

export function hostEndpoint(hep: HostEndpoint): Endpoint {
  return {
    id: hep.metadata.name,
    kind: "HostEndpoint",
    name: hep.metadata.name,
    labels: effectiveLabels({ labels: hep.metadata.labels ?? {} }),
    addresses: addresses(hep.spec.expectedIPs ?? []),
    nets: [],
    ...declaredPorts(hep.spec.ports),
    ...(hep.spec.node ? { node: hep.spec.node } : {}),
    hostNetwork: false,
    ...(hep.spec.interfaceName ? { interfaceName: hep.spec.interfaceName } : {}),
  };
}

export function networkSet(
  set: NetworkSet | GlobalNetworkSet,
  nsLabels: NamespaceLabels,
): Endpoint {
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
    containerPorts: [],
    hostNetwork: false,
  };
}

export function node(n: NodeResource): Node {
  return {
    name: n.metadata.name,
    labels: n.metadata.labels ?? {},
    addresses: addresses((n.status?.addresses ?? []).map((a) => a.address)),
  };
}
