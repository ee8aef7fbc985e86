// Kubernetes networking.k8s.io/v1 NetworkPolicy, exactly as upstream: allow-only rules in the
// "default" tier, so first match in (order, name) order is the union of all selecting policies.
import type { K8sNetworkPolicy } from "../../model/index.ts";
import { andSelectors, fromLabelSelector } from "../../selector/index.ts";
import { inNamespace, namespaceScope, PODS_ONLY, type SelectorCache } from "../scope.ts";
import type { Direction, EntityMatch, Policy, PolicyRef, Rule } from "../types.ts";
import { cidrMatch, crossPeersAndPorts, groupByProtocol, portMatch } from "./ports.ts";
import { DEFAULT_TIER, KUBERNETES_POLICY_ORDER } from "./tiers.ts";

type K8sSpec = K8sNetworkPolicy["spec"];
type K8sPeer = NonNullable<NonNullable<K8sSpec["ingress"]>[number]["from"]>[number];
type K8sPort = NonNullable<NonNullable<K8sSpec["ingress"]>[number]["ports"]>[number];

/** A NetworkPolicy, or the policy a StagedKubernetesNetworkPolicy would enforce. */
export type K8sPolicySource = Pick<K8sNetworkPolicy, "metadata" | "spec">;

/** API-server defaulting: Ingress always, Egress when egress rules are present. */
export function kubernetesPolicyTypes(spec: K8sSpec): Direction[] {
  if (spec.policyTypes && spec.policyTypes.length > 0) {
    return spec.policyTypes.map((t) => (t === "Egress" ? "egress" : "ingress"));
  }
  return spec.egress && spec.egress.length > 0 ? ["ingress", "egress"] : ["ingress"];
}

export function compileKubernetesPolicy(np: K8sPolicySource, cache: SelectorCache): Policy {
  const { namespace } = np.metadata;
  const ref: PolicyRef = { kind: "KubernetesNetworkPolicy", namespace, name: np.metadata.name };
  const types = kubernetesPolicyTypes(np.spec);

  const peerMatch = (peer: K8sPeer): EntityMatch => {
    if (peer.ipBlock) return cidrMatch([peer.ipBlock.cidr], peer.ipBlock.except);
    const ns = peer.namespaceSelector
      ? namespaceScope(fromLabelSelector(peer.namespaceSelector))
      : inNamespace(namespace);
    const pods = peer.podSelector ? fromLabelSelector(peer.podSelector) : undefined;
    return { selector: cache.compile(andSelectors(PODS_ONLY, ns, ...(pods ? [pods] : []))) };
  };

  const rules = (
    direction: Direction,
    list: ReadonlyArray<{ peers: readonly K8sPeer[]; ports: readonly K8sPort[] }>,
  ): Rule[] => {
    if (!types.includes(direction)) return [];
    return list.flatMap((r, index) => {
      const groups = groupByProtocol(
        r.ports.map((p) => ({
          protocol: p.protocol ?? "TCP",
          ...(p.port !== undefined && p.port !== null
            ? { port: portMatch(p.port, p.endPort) }
            : {}),
        })),
      );
      return crossPeersAndPorts(r.peers.map(peerMatch), groups).map(({ peer, group }): Rule => {
        const ports: EntityMatch = group?.ports ? { ports: group.ports } : {};
        return {
          action: "Allow",
          ...(group?.protocol !== undefined ? { protocol: group.protocol } : {}),
          source: direction === "ingress" ? (peer ?? {}) : {},
          destination: direction === "ingress" ? ports : { ...peer, ...ports },
          origin: { policy: ref, direction, index },
        };
      });
    });
  };

  return {
    ref,
    tier: DEFAULT_TIER,
    order: KUBERNETES_POLICY_ORDER,
    selector: cache.compile(
      andSelectors(PODS_ONLY, inNamespace(namespace), fromLabelSelector(np.spec.podSelector)),
    ),
    types,
    ingress: rules(
      "ingress",
      (np.spec.ingress ?? []).map((r) => ({ peers: r.from ?? [], ports: r.ports ?? [] })),
    ),
    egress: rules(
      "egress",
      (np.spec.egress ?? []).map((r) => ({ peers: r.to ?? [], ports: r.ports ?? [] })),
    ),
  };
}
