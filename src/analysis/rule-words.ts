// A compiled rule said in words, for `describe`: action, protocol, then each side's conditions
// as the selector, net and port lists they are (selectors in their canonical text).
import type { EntityMatch, IcmpMatch, PortMatch, Protocol, Rule } from "../policy/index.ts";

function ports(list: readonly PortMatch[]): string {
  return list
    .map((p) =>
      p.kind === "named" ? p.name : p.from === p.to ? String(p.from) : `${p.from}-${p.to}`,
    )
    .join(", ");
}

function icmp(m: IcmpMatch): string {
  return m.code === undefined ? `type ${m.type}` : `type ${m.type} code ${m.code}`;
}

/** `endpoints matching <sel>, nets 10.0.0.0/8, ports 80, 443`; "anywhere" when unrestricted. */
export function entityInWords(e: EntityMatch): string {
  const parts: string[] = [];
  if (e.selector) parts.push(`endpoints matching ${e.selector.key}`);
  if (e.notSelector) parts.push(`endpoints not matching ${e.notSelector.key}`);
  if (e.nodeSelector) parts.push(`nodes matching ${e.nodeSelector.key}`);
  if (e.nets?.length) parts.push(`nets ${e.nets.map((n) => n.text).join(", ")}`);
  if (e.notNets?.length) parts.push(`not nets ${e.notNets.map((n) => n.text).join(", ")}`);
  if (e.sameNamespaceLabels?.length) {
    parts.push(`namespaces with the same ${e.sameNamespaceLabels.join(", ")}`);
  }
  if (e.notSameNamespaceLabels?.length) {
    parts.push(`namespaces without the same ${e.notSameNamespaceLabels.join(", ")}`);
  }
  if (e.ports?.length) parts.push(`ports ${ports(e.ports)}`);
  if (e.notPorts?.length) parts.push(`not ports ${ports(e.notPorts)}`);
  return parts.length ? parts.join(", ") : "anywhere";
}

function protocol(p: Protocol): string {
  return typeof p === "number" ? `protocol ${p}` : p;
}

/** `Allow TCP from endpoints matching app == "web" to ports 8080`. */
export function ruleInWords(rule: Rule): string {
  const words: string[] = [rule.action];
  if (rule.ipVersion) words.push(`IPv${rule.ipVersion}`);
  if (rule.protocol !== undefined) words.push(protocol(rule.protocol));
  if (rule.notProtocol !== undefined) words.push(`not ${protocol(rule.notProtocol)}`);
  if (rule.icmp) words.push(icmp(rule.icmp));
  if (rule.notIcmp) words.push(`not ${icmp(rule.notIcmp)}`);
  words.push(`from ${entityInWords(rule.source)}`, `to ${entityInWords(rule.destination)}`);
  const name = rule.origin.name ? ` (${rule.origin.name})` : "";
  return `${words.join(" ")}${name}`;
}
