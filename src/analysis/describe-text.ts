// `microseg describe` text, laid out as kubectl describe prints: aligned `Field:` lines,
// multi-valued fields continued under the first value, `<none>` for empty ones.
import { policyLabel } from "../policy/index.ts";
import type { Description, DirectionSelection, ObjectSummary, TierEntry } from "./describe.ts";

const WIDTH = 14;

function field(name: string, values: readonly string[]): string[] {
  const label = `${name}:`.padEnd(WIDTH);
  const [first, ...rest] = values.length ? values : ["<none>"];
  return [`${label}${first}`, ...rest.map((v) => `${" ".repeat(WIDTH)}${v}`)];
}

function pairs(map: Readonly<Record<string, string>>): string[] {
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${map[k]}`);
}

function header(o: ObjectSummary): string[] {
  const group = o.apiVersion.includes("/") ? ` (${o.apiVersion})` : "";
  return [
    ...field("Name", [o.name]),
    ...(o.namespace !== undefined ? field("Namespace", [o.namespace]) : []),
    ...field("Kind", [`${o.kind}${group}`]),
    ...field("Labels", pairs(o.labels)),
    ...field("Annotations", pairs(o.annotations)),
    ...(o.creationTimestamp ? field("Created", [o.creationTimestamp]) : []),
  ];
}

function tierLine(t: TierEntry): string {
  const order = t.order !== undefined ? `order ${t.order}, ` : "";
  const stage = t.stage ? `, ${t.stage} stage` : "";
  return `Tier ${t.tier} (${order}default ${t.defaultAction}${stage}):`;
}

function directionLines(title: string, d: DirectionSelection): string[] {
  if (d.open !== undefined) return [`${title}:`, `  <none>: ${d.open}; open`];
  const lines = [`${title}:`];
  for (const t of d.tiers) {
    lines.push(`  ${tierLine(t)}`);
    for (const p of t.policies) {
      const order = p.order !== undefined ? ` (order ${p.order})` : "";
      lines.push(`    ${policyLabel(p)}${order}`);
    }
  }
  return lines;
}

function rules(title: string, list: readonly string[]): string[] {
  return [`${title}:`, ...(list.length ? list.map((r, i) => `  ${i}: ${r}`) : ["  <none>"])];
}

export function formatDescription(d: Description): string {
  const lines = header(d.object);
  if (d.type === "endpoint") {
    const e = d.endpoint;
    lines.push(...field("Node", e.node !== undefined ? [e.node] : []));
    lines.push(...field("Addresses", e.addresses.length ? [e.addresses.join(", ")] : []));
    if (e.hostNetwork) lines.push(...field("Host network", ["true"]));
    lines.push(
      ...field("Ports", [
        ...e.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`),
        // Unnamed ones (`containerPort: 80`, most Deployments'); a server older than the
        // field sends none.
        ...(e.containerPorts ?? [])
          .filter((c) => !e.ports.some((p) => p.port === c.port && p.protocol === c.protocol))
          .map((c) => `${c.port}/${c.protocol}`),
      ]),
    );
    lines.push(...directionLines("Ingress", d.ingress), ...directionLines("Egress", d.egress));
    if (d.staged) {
      lines.push(
        ...directionLines("Staged ingress", d.staged.ingress),
        ...directionLines("Staged egress", d.staged.egress),
      );
    }
  } else if (d.type === "policy") {
    if (d.stages)
      lines.push(...field("Stages", [`${d.stages.action} ${policyLabel(d.stages.target)}`]));
    if (d.policy) {
      const p = d.policy;
      lines.push(...field("Tier", [p.tier]));
      lines.push(...field("Order", p.order !== undefined ? [String(p.order)] : []));
      lines.push(...field("Selector", [p.selector]));
      lines.push(
        ...field("Types", [
          p.types.map((t) => (t === "ingress" ? "Ingress" : "Egress")).join(", "),
        ]),
      );
      lines.push(...field("Selects", d.selects));
      lines.push(...rules("Ingress rules", d.ingress), ...rules("Egress rules", d.egress));
    }
  }
  return `${lines.join("\n")}\n`;
}
