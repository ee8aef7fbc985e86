// Kubernetes NetworkPolicy peers: `- namespaceSelector` and `- podSelector` as two list items are
// an OR (every pod of those namespaces, or those pods of this one), one item holding both is an
// AND. Each is easily written for the other.
import type { K8sNetworkPolicy, LabelSelector } from "../../../model/index.ts";
import type { Cluster, Endpoint } from "../../../policy/index.ts";
import { compileSelector, fromLabelSelector } from "../../../selector/index.ts";
import type { Check, Finding, LintInput } from "../finding.ts";
import { objectName } from "../objects.ts";

type Peer = NonNullable<NonNullable<K8sNetworkPolicy["spec"]["ingress"]>[number]["from"]>[number];

/** Each Kubernetes rule's peer list with its field path. */
function peerLists(np: K8sNetworkPolicy): Array<{ path: string; peers: readonly Peer[] }> {
  const out: Array<{ path: string; peers: readonly Peer[] }> = [];
  np.spec.ingress?.forEach((r, i) => {
    if (r.from) out.push({ path: `spec.ingress[${i}].from`, peers: r.from });
  });
  np.spec.egress?.forEach((r, i) => {
    if (r.to) out.push({ path: `spec.egress[${i}].to`, peers: r.to });
  });
  return out;
}

const k8sPolicies = (input: LintInput): K8sNetworkPolicy[] =>
  input.resources.filter(
    (r): r is K8sNetworkPolicy =>
      r.kind === "NetworkPolicy" && r.apiVersion === "networking.k8s.io/v1",
  );

export const separatePeers: Check = {
  id: "peers.separate-items",
  severity: "warning",
  summary:
    "namespaceSelector and podSelector as two peers (OR) where one peer (AND) was likely meant",
  run(input) {
    const findings: Finding[] = [];
    for (const np of k8sPolicies(input)) {
      for (const { path, peers } of peerLists(np)) {
        const nsOnly = peers.findIndex((p) => p.namespaceSelector && !p.podSelector);
        const podOnly = peers.findIndex((p) => p.podSelector && !p.namespaceSelector);
        if (nsOnly < 0 || podOnly < 0) continue;
        findings.push({
          check: this.id,
          severity: this.severity,
          object: objectName(np),
          path: `${path}[${nsOnly}]`,
          message:
            `${path}[${nsOnly}] (namespaceSelector) and ${path}[${podOnly}] (podSelector) are two peers: ` +
            "this admits every pod of the selected namespaces, or the selected pods of this namespace; " +
            "for only the selected pods in those namespaces, write both selectors in one item",
        });
      }
    }
    return findings;
  },
};

function labelMatcher(ls: LabelSelector): (labels: Readonly<Record<string, string>>) => boolean {
  return compileSelector(fromLabelSelector(ls));
}

/** Pods (not host-network) whose own labels and namespace labels match. */
function podsMatching(
  cluster: Cluster,
  pod: ((l: Readonly<Record<string, string>>) => boolean) | undefined,
  ns: ((l: Readonly<Record<string, string>>) => boolean) | undefined,
): Endpoint[] {
  return cluster.endpoints.filter(
    (e) =>
      e.kind === "Pod" &&
      !e.hostNetwork &&
      (pod === undefined || pod(e.labels)) &&
      (ns === undefined || ns(cluster.namespaceLabels(e.namespace ?? "") ?? {})),
  );
}

export const combinedPeer: Check = {
  id: "peers.combined-matches-nothing",
  severity: "warning",
  summary:
    "namespaceSelector and podSelector in one peer (AND) that match nothing together, though each matches pods",
  run(input) {
    const { cluster } = input.world;
    const findings: Finding[] = [];
    for (const np of k8sPolicies(input)) {
      for (const { path, peers } of peerLists(np)) {
        peers.forEach((p, j) => {
          if (!p.namespaceSelector || !p.podSelector) return;
          const ns = labelMatcher(p.namespaceSelector);
          const pod = labelMatcher(p.podSelector);
          if (podsMatching(cluster, pod, ns).length > 0) return;
          const inNamespaces = podsMatching(cluster, undefined, ns).length;
          const anywhere = podsMatching(cluster, pod, undefined).length;
          if (inNamespaces === 0 || anywhere === 0) return;
          findings.push({
            check: this.id,
            severity: this.severity,
            object: objectName(np),
            path: `${path}[${j}]`,
            message:
              `one peer with both selectors admits only pods matching podSelector inside namespaces matching namespaceSelector: none now, ` +
              `while the selected namespaces hold ${inNamespaces} pod(s) and ${anywhere} pod(s) elsewhere match podSelector; ` +
              "if either was meant, write them as two items",
          });
        });
      }
    }
    return findings;
  },
};
