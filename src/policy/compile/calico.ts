// microseg.io/v1 (projectcalico.org/v3) NetworkPolicy, GlobalNetworkPolicy and
// their staged forms: tiered, ordered, with Allow/Deny/Pass/Log rules and rich entity matches.
import type {
  EntityRule,
  GlobalNetworkPolicy,
  NetworkPolicy,
  Rule as RuleResource,
} from "../../model/index.ts";
import { andSelectors, parseSelector, type SelectorAst } from "../../selector/index.ts";
import { normalizeProtocol } from "../protocol.ts";
import { inNamespace, namespaceScope, type SelectorCache, serviceAccountScope } from "../scope.ts";
import { resolveServiceMatch, type ServiceLookup } from "../services.ts";
import type {
  Direction,
  EntityMatch,
  IcmpMatch,
  Policy,
  PolicyKind,
  PolicyRef,
  Rule,
  RuleAction,
} from "../types.ts";
import { calicoPortMatch, cidrMatch } from "./ports.ts";
import { DEFAULT_TIER } from "./tiers.ts";

type CalicoEntityRule = EntityRule;
type CalicoRule = RuleResource;
type CalicoPolicySpec = NetworkPolicy["spec"] | GlobalNetworkPolicy["spec"];

/** A Calico policy, or the policy a staged one would enforce. */
export type CalicoPolicySource =
  | Pick<NetworkPolicy, "kind" | "metadata" | "spec">
  | Pick<GlobalNetworkPolicy, "kind" | "metadata" | "spec">;

/** Calico's defaulting: Egress alone when only egress rules exist, both when both, else Ingress. */
export function calicoPolicyTypes(spec: CalicoPolicySpec): Direction[] {
  if (spec.types && spec.types.length > 0) {
    return spec.types.map((t) => (t === "Egress" ? "egress" : "ingress"));
  }
  const hasIngress = (spec.ingress?.length ?? 0) > 0;
  const hasEgress = (spec.egress?.length ?? 0) > 0;
  if (hasEgress && hasIngress) return ["ingress", "egress"];
  return hasEgress ? ["egress"] : ["ingress"];
}

const parse = (text: string | undefined): SelectorAst | undefined =>
  text === undefined || text.trim() === "" ? undefined : parseSelector(text);

function icmpMatch(m: CalicoRule["icmp"]): IcmpMatch | undefined {
  if (m?.type === undefined) return undefined;
  return { type: m.type, ...(m.code !== undefined ? { code: m.code } : {}) };
}

/**
 * An entity rule's selector: in a namespaced policy, a rule using any selector field (selector,
 * notSelector, serviceAccounts) without a namespaceSelector stays in the policy's namespace; a
 * namespaceSelector widens it; service accounts narrow it. As Calico's GetEntityRuleSelector
 * (libcalico-go updateprocessors/rules.go): a notSelector alone still scopes the rule.
 */
interface CompileContext {
  readonly namespace: string | undefined;
  readonly cache: SelectorCache;
  readonly services: ServiceLookup;
  readonly action: RuleAction;
}

function entityMatch(
  e: CalicoEntityRule | undefined,
  side: "source" | "destination",
  c: CompileContext,
): EntityMatch {
  if (!e) return {};
  const { namespace, cache } = c;
  const selector = parse(e.selector);
  const nsSelector = parse(e.namespaceSelector);
  const notSelector = parse(e.notSelector);
  const sa = e.serviceAccounts;
  const saScope = sa ? serviceAccountScope(sa.names ?? [], parse(sa.selector)) : undefined;
  const parts: SelectorAst[] = [];
  if (nsSelector) parts.push(namespaceScope(nsSelector));
  else if (namespace !== undefined && (selector || notSelector || saScope)) {
    parts.push(inNamespace(namespace));
  }
  if (selector) parts.push(selector);
  if (saScope) parts.push(saScope);
  const service = e.services
    ? resolveServiceMatch(
        e.services,
        namespace,
        side === "destination",
        c.action,
        c.services,
        cache,
      )
    : undefined;
  return {
    ...(service ? { service } : {}),
    ...(parts.length > 0 ? { selector: cache.compile(andSelectors(...parts)) } : {}),
    ...(notSelector ? { notSelector: cache.compile(notSelector) } : {}),
    ...(e.nets?.length ? { nets: cidrMatch(e.nets).nets } : {}),
    ...(e.notNets?.length ? { notNets: cidrMatch(e.notNets).nets } : {}),
    ...(e.ports?.length ? { ports: e.ports.map(calicoPortMatch) } : {}),
    ...(e.notPorts?.length ? { notPorts: e.notPorts.map(calicoPortMatch) } : {}),
  };
}

function compileRule(
  r: CalicoRule,
  origin: Rule["origin"],
  namespace: string | undefined,
  cache: SelectorCache,
  services: ServiceLookup,
): Rule {
  const c: CompileContext = { namespace, cache, services, action: r.action };
  const icmp = icmpMatch(r.icmp);
  const notIcmp = icmpMatch(r.notICMP);
  return {
    action: r.action,
    ...(r.protocol !== undefined ? { protocol: normalizeProtocol(r.protocol) } : {}),
    ...(r.notProtocol !== undefined ? { notProtocol: normalizeProtocol(r.notProtocol) } : {}),
    ...(r.ipVersion === 4 || r.ipVersion === 6 ? { ipVersion: r.ipVersion } : {}),
    ...(icmp ? { icmp } : {}),
    ...(notIcmp ? { notIcmp } : {}),
    source: entityMatch(r.source, "source", c),
    destination: entityMatch(r.destination, "destination", c),
    origin,
  };
}

/** Calico stores tiered policy names as `tier.name`; either spelling names the same policy. */
export function policyName(name: string, tier: string): string {
  return tier !== DEFAULT_TIER && name.startsWith(`${tier}.`)
    ? name.slice(tier.length + 1)
    : name.replace(/^default\./, "");
}

/** `services` resolves rule `services` (the policy depends on the Services it names). */
export function compileCalicoPolicy(
  p: CalicoPolicySource,
  cache: SelectorCache,
  services: ServiceLookup,
): Policy {
  const namespace = p.kind === "NetworkPolicy" ? p.metadata.namespace : undefined;
  const { tier } = p.spec;
  const kind: PolicyKind = p.kind;
  const name = policyName(p.metadata.name, tier);
  const ref: PolicyRef = {
    kind,
    name,
    ...(name !== p.metadata.name ? { writtenName: p.metadata.name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  };
  const types = calicoPolicyTypes(p.spec);
  const subject: SelectorAst[] = [];
  if (namespace !== undefined) subject.push(inNamespace(namespace));
  const nsSelector = p.kind === "GlobalNetworkPolicy" ? parse(p.spec.namespaceSelector) : undefined;
  if (nsSelector) subject.push(namespaceScope(nsSelector));
  const selector = parse(p.spec.selector);
  if (selector) subject.push(selector);
  const saSelector = parse(p.spec.serviceAccountSelector);
  if (saSelector) subject.push(serviceAccountScope([], saSelector));

  const rules = (direction: Direction, list: readonly CalicoRule[] | undefined): Rule[] =>
    types.includes(direction)
      ? (list ?? []).map((r, index) =>
          compileRule(r, { policy: ref, direction, index }, namespace, cache, services),
        )
      : [];

  const global = p.kind === "GlobalNetworkPolicy" ? p.spec : undefined;
  const stage = global?.doNotTrack ? "untracked" : global?.preDNAT ? "preDNAT" : undefined;
  return {
    ref,
    ...(stage ? { stage } : {}),
    ...(global?.applyOnForward ? { applyOnForward: true } : {}),
    tier,
    ...(p.spec.order !== undefined ? { order: p.spec.order } : {}),
    selector: cache.compile(andSelectors(...subject)),
    types,
    ingress: rules("ingress", p.spec.ingress),
    egress: rules("egress", p.spec.egress),
  };
}
