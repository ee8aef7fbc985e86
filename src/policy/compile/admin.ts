// AdminNetworkPolicy (a tier before NetworkPolicy, ordered by priority; Allow/Deny/Pass) and
// BaselineAdminNetworkPolicy (a tier after it; Allow/Deny), policy.networking.k8s.io/v1alpha1.
import type {
  AdminNetworkPolicy,
  AnpNamespacesPeer,
  BaselineAdminNetworkPolicy,
  LabelSelector,
} from "../../model/index.ts";
import { andSelectors, fromLabelSelector, type SelectorAst } from "../../selector/index.ts";
import { namespaceScope, PODS_ONLY, type SelectorCache } from "../scope.ts";
import type {
  Direction,
  EntityMatch,
  Policy,
  PolicyRef,
  PortMatch,
  Protocol,
  Rule,
} from "../types.ts";
import { cidrMatch, crossPeersAndPorts, groupByProtocol, portMatch } from "./ports.ts";
import { ADMIN_TIER, BASELINE_POLICY_ORDER, BASELINE_TIER } from "./tiers.ts";

type AdminPolicy = AdminNetworkPolicy | BaselineAdminNetworkPolicy;
type AdminRule = NonNullable<AdminNetworkPolicy["spec"]["egress"]>[number];
export type AdminPeer = AdminRule["to"][number];
type AdminPort = NonNullable<AdminRule["ports"]>[number];
type AdminIngressRule = NonNullable<AdminNetworkPolicy["spec"]["ingress"]>[number];
type AdminRuleOf = AdminRule | AdminIngressRule | BaselineRule;
type BaselineRule =
  | NonNullable<BaselineAdminNetworkPolicy["spec"]["egress"]>[number]
  | NonNullable<BaselineAdminNetworkPolicy["spec"]["ingress"]>[number];
/** A pods peer or subject; the model reads the legacy `pods.namespaces` as namespaceSelector. */
type AdminPods = { namespaceSelector: AnpNamespacesPeer; podSelector: LabelSelector };

function namespacePart(ns: AnpNamespacesPeer): {
  selector: SelectorAst;
  match: Pick<EntityMatch, "sameNamespaceLabels" | "notSameNamespaceLabels">;
} {
  const { sameLabels, notSameLabels, ...selector } = ns;
  return {
    selector: namespaceScope(fromLabelSelector(selector)),
    match: {
      ...(sameLabels?.length ? { sameNamespaceLabels: sameLabels } : {}),
      ...(notSameLabels?.length ? { notSameNamespaceLabels: notSameLabels } : {}),
    },
  };
}

function podsSelector(pods: AdminPods): ReturnType<typeof namespacePart> {
  const ns = namespacePart(pods.namespaceSelector);
  return {
    selector: andSelectors(ns.selector, fromLabelSelector(pods.podSelector)),
    match: ns.match,
  };
}

function peerMatch(peer: AdminPeer, cache: SelectorCache): EntityMatch {
  if (peer.networks) return cidrMatch(peer.networks);
  if (peer.nodes) return { nodeSelector: cache.compile(fromLabelSelector(peer.nodes)) };
  const part = peer.pods ? podsSelector(peer.pods) : namespacePart(peer.namespaces ?? {});
  return { selector: cache.compile(andSelectors(PODS_ONLY, part.selector)), ...part.match };
}

type PortEntry = { protocol?: Protocol; port?: PortMatch };

function portEntries(ports: readonly AdminPort[]): PortEntry[] {
  return ports.map((p) => {
    if (p.portNumber) {
      return {
        protocol: p.portNumber.protocol ?? "TCP",
        port: portMatch(p.portNumber.port),
      };
    }
    if (p.portRange) {
      return {
        protocol: p.portRange.protocol ?? "TCP",
        port: { kind: "range" as const, from: p.portRange.start, to: p.portRange.end },
      };
    }
    return { port: { kind: "named" as const, name: p.namedPort ?? "" } };
  });
}

/** One rule of a network-policy-api kind, its ports already read into protocol and match. */
export interface TieredRule {
  readonly name?: string;
  readonly action: "Allow" | "Deny" | "Pass";
  readonly peers: readonly AdminPeer[];
  readonly ports: readonly PortEntry[];
}

/** The policy-api kinds' common shape: a subject, ordered rules, a tier and an order. */
export interface TieredPolicy {
  readonly ref: PolicyRef;
  readonly tier: string;
  readonly order: number;
  readonly subject: { namespaces?: LabelSelector; pods?: AdminPods };
  readonly ingress: readonly TieredRule[];
  readonly egress: readonly TieredRule[];
}

/** ANP, BANP and ClusterNetworkPolicy all compile through here. */
export function compileTieredPolicy(input: TieredPolicy, cache: SelectorCache): Policy {
  const { ref } = input;
  const subject = input.subject.pods
    ? podsSelector(input.subject.pods).selector
    : namespacePart(input.subject.namespaces ?? {}).selector;

  const rules = (direction: Direction, list: readonly TieredRule[]): Rule[] =>
    list.flatMap((r, index) => {
      const peers = r.peers.map((p) => peerMatch(p, cache));
      const groups = groupByProtocol(r.ports);
      return crossPeersAndPorts(peers, groups).map(({ peer, group }): Rule => {
        const ports: EntityMatch = group?.ports ? { ports: group.ports } : {};
        return {
          action: r.action,
          ...(group?.protocol !== undefined ? { protocol: group.protocol } : {}),
          source: direction === "ingress" ? (peer ?? {}) : {},
          destination: direction === "ingress" ? ports : { ...peer, ...ports },
          origin: { policy: ref, direction, index, ...(r.name ? { name: r.name } : {}) },
        };
      });
    });

  return {
    ref,
    tier: input.tier,
    order: input.order,
    selector: cache.compile(andSelectors(PODS_ONLY, subject)),
    // The subject is selected in a direction only when it has rules for it.
    types: [
      ...(input.ingress.length > 0 ? ["ingress" as const] : []),
      ...(input.egress.length > 0 ? ["egress" as const] : []),
    ],
    ingress: rules("ingress", input.ingress),
    egress: rules("egress", input.egress),
  };
}

export function compileAdminPolicy(anp: AdminPolicy, cache: SelectorCache): Policy {
  const baseline = anp.kind === "BaselineAdminNetworkPolicy";
  const rule = (r: AdminRuleOf): TieredRule => ({
    ...(r.name ? { name: r.name } : {}),
    action: r.action,
    peers: "from" in r ? r.from : r.to,
    ports: portEntries(r.ports ?? []),
  });
  return compileTieredPolicy(
    {
      ref: { kind: anp.kind, name: anp.metadata.name },
      tier: baseline ? BASELINE_TIER : ADMIN_TIER,
      // Calico places the BANP at order 1000 among Calico policies in its tier.
      order: baseline ? BASELINE_POLICY_ORDER : anp.spec.priority,
      subject: anp.spec.subject,
      ingress: (anp.spec.ingress ?? []).map(rule),
      egress: (anp.spec.egress ?? []).map(rule),
    },
    cache,
  );
}
