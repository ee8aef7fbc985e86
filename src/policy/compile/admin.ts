// AdminNetworkPolicy (a tier before NetworkPolicy, ordered by priority; Allow/Deny/Pass) and
// BaselineAdminNetworkPolicy (a tier after it; Allow/Deny), policy.networking.k8s.io/v1alpha1.
import {
  andSelectors,
  fromLabelSelector,
  type LabelSelector,
  type SelectorAst,
} from "../../selector/index.ts";
import { namespaceScope, PODS_ONLY, type SelectorCache } from "../scope.ts";
import type {
  Direction,
  EntityMatch,
  Policy,
  PolicyRef,
  Protocol,
  Rule,
  RuleAction,
} from "../types.ts";
import { cidrMatch, crossPeersAndPorts, groupByProtocol, portMatch } from "./ports.ts";
import { ADMIN_TIER, BASELINE_POLICY_ORDER, BASELINE_TIER } from "./tiers.ts";

/** A namespaces selector; the legacy v0.1.1 form names label keys relative to the subject. */
export type AdminNamespaces = LabelSelector & {
  sameLabels?: string[] | null;
  notSameLabels?: string[] | null;
};

export interface AdminPodsPeer {
  namespaceSelector?: AdminNamespaces | null;
  /** v0.1.1 spelling of namespaceSelector. */
  namespaces?: AdminNamespaces | null;
  podSelector?: LabelSelector | null;
}

export interface AdminPeer {
  namespaces?: AdminNamespaces | null;
  pods?: AdminPodsPeer | null;
  nodes?: LabelSelector | null;
  networks?: string[] | null;
}

export interface AdminPort {
  portNumber?: { protocol?: string | null; port: number } | null;
  namedPort?: string | null;
  portRange?: { protocol?: string | null; start: number; end: number } | null;
}

export interface AdminRule {
  name?: string | null;
  action: string;
  from?: AdminPeer[] | null;
  to?: AdminPeer[] | null;
  ports?: AdminPort[] | null;
}

export interface AdminNetworkPolicyInput {
  kind: "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy";
  metadata: { name: string };
  spec: {
    priority?: number | null;
    subject: { namespaces?: LabelSelector | null; pods?: AdminPodsPeer | null };
    ingress?: AdminRule[] | null;
    egress?: AdminRule[] | null;
  };
}

function namespacePart(ns: AdminNamespaces | null | undefined): {
  selector: SelectorAst;
  match: Pick<EntityMatch, "sameNamespaceLabels" | "notSameNamespaceLabels">;
} {
  const { sameLabels, notSameLabels, ...selector } = ns ?? {};
  return {
    selector: namespaceScope(fromLabelSelector(selector)),
    match: {
      ...(sameLabels?.length ? { sameNamespaceLabels: sameLabels } : {}),
      ...(notSameLabels?.length ? { notSameNamespaceLabels: notSameLabels } : {}),
    },
  };
}

function podsSelector(pods: AdminPodsPeer): ReturnType<typeof namespacePart> {
  const ns = namespacePart(pods.namespaceSelector ?? pods.namespaces);
  return {
    selector: andSelectors(ns.selector, fromLabelSelector(pods.podSelector ?? {})),
    match: ns.match,
  };
}

function peerMatch(peer: AdminPeer, cache: SelectorCache): EntityMatch {
  if (peer.networks) return cidrMatch(peer.networks);
  if (peer.nodes) return { nodeSelector: cache.compile(fromLabelSelector(peer.nodes)) };
  const part = peer.pods ? podsSelector(peer.pods) : namespacePart(peer.namespaces);
  return { selector: cache.compile(andSelectors(PODS_ONLY, part.selector)), ...part.match };
}

function portEntries(
  ports: readonly AdminPort[],
): Array<{ protocol?: Protocol; port?: ReturnType<typeof portMatch> }> {
  return ports.map((p) => {
    if (p.portNumber) {
      return {
        protocol: (p.portNumber.protocol ?? "TCP") as Protocol,
        port: portMatch(p.portNumber.port),
      };
    }
    if (p.portRange) {
      return {
        protocol: (p.portRange.protocol ?? "TCP") as Protocol,
        port: { kind: "range" as const, from: p.portRange.start, to: p.portRange.end },
      };
    }
    return { port: { kind: "named" as const, name: p.namedPort ?? "" } };
  });
}

export function compileAdminPolicy(anp: AdminNetworkPolicyInput, cache: SelectorCache): Policy {
  const baseline = anp.kind === "BaselineAdminNetworkPolicy";
  const ref: PolicyRef = { kind: anp.kind, name: anp.metadata.name };
  const subject = anp.spec.subject.pods
    ? podsSelector(anp.spec.subject.pods).selector
    : namespacePart(anp.spec.subject.namespaces).selector;

  const rules = (direction: Direction, list: readonly AdminRule[]): Rule[] =>
    list.flatMap((r, index) => {
      const peers = ((direction === "ingress" ? r.from : r.to) ?? []).map((p) =>
        peerMatch(p, cache),
      );
      const groups = groupByProtocol(portEntries(r.ports ?? []));
      return crossPeersAndPorts(peers, groups).map(({ peer, group }): Rule => {
        const ports: EntityMatch = group?.ports ? { ports: group.ports } : {};
        return {
          action: r.action as RuleAction,
          ...(group?.protocol !== undefined ? { protocol: group.protocol } : {}),
          source: direction === "ingress" ? (peer ?? {}) : {},
          destination: direction === "ingress" ? ports : { ...peer, ...ports },
          origin: { policy: ref, direction, index, ...(r.name ? { name: r.name } : {}) },
        };
      });
    });

  const ingress = anp.spec.ingress ?? [];
  const egress = anp.spec.egress ?? [];
  return {
    ref,
    tier: baseline ? BASELINE_TIER : ADMIN_TIER,
    // Calico places the BANP at order 1000 among Calico policies in its tier.
    order: baseline ? BASELINE_POLICY_ORDER : (anp.spec.priority ?? 0),
    selector: cache.compile(andSelectors(PODS_ONLY, subject)),
    // The subject is selected in a direction only when it has rules for it.
    types: [
      ...(ingress.length > 0 ? ["ingress" as const] : []),
      ...(egress.length > 0 ? ["egress" as const] : []),
    ],
    ingress: rules("ingress", ingress),
    egress: rules("egress", egress),
  };
}
