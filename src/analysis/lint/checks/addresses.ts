// Policy by address: CIDRs that hold workload addresses (labels would follow the workloads),
// and IPv4-only CIDRs in a dual-stack cluster (the same peers over IPv6 are not matched).
import type { Resource } from "../../../model/index.ts";
import { type Cidr, cidrContains, parseCidr } from "../../../net/cidr.ts";
import type { Direction } from "../../../policy/index.ts";
import type { Check, Finding, LintInput } from "../finding.ts";
import { objectName } from "../objects.ts";

interface CidrField {
  readonly object: string;
  readonly direction: Direction;
  readonly path: string;
  readonly cidrs: readonly Cidr[];
}

type RuleLike = {
  readonly source?: { readonly nets?: readonly string[] };
  readonly destination?: { readonly nets?: readonly string[] };
};
type PeerLike = {
  readonly ipBlock?: { readonly cidr: string };
  readonly networks?: readonly string[];
};

/** Every CIDR list a policy writes as a peer, with its path: ipBlock, networks, nets. */
function cidrFields(r: Resource): CidrField[] {
  const out: CidrField[] = [];
  const object = objectName(r);
  const add = (direction: Direction, path: string, texts: readonly string[] | undefined) => {
    if (texts?.length) out.push({ object, direction, path, cidrs: texts.map(parseCidr) });
  };
  const kubernetesPeers = (direction: Direction, field: string, rules: unknown[] | undefined) => {
    rules?.forEach((rule, i) => {
      const peers = (rule as Record<string, PeerLike[] | undefined>)[field];
      peers?.forEach((peer, j) => {
        const path = `spec.${direction}[${i}].${field}[${j}]`;
        add(direction, `${path}.ipBlock.cidr`, peer.ipBlock ? [peer.ipBlock.cidr] : undefined);
        add(direction, `${path}.networks`, peer.networks);
      });
    });
  };
  if (r.kind === "NetworkPolicy" && r.apiVersion === "networking.k8s.io/v1") {
    kubernetesPeers("ingress", "from", r.spec.ingress);
    kubernetesPeers("egress", "to", r.spec.egress);
  } else if (r.kind === "AdminNetworkPolicy" || r.kind === "BaselineAdminNetworkPolicy") {
    kubernetesPeers("egress", "to", r.spec.egress);
  } else if (r.kind === "NetworkPolicy" || r.kind === "GlobalNetworkPolicy") {
    for (const direction of ["ingress", "egress"] as const) {
      (r.spec[direction] as readonly RuleLike[] | undefined)?.forEach((rule, i) => {
        add(direction, `spec.${direction}[${i}].source.nets`, rule.source?.nets);
        add(direction, `spec.${direction}[${i}].destination.nets`, rule.destination?.nets);
      });
    }
  }
  return out;
}

const allCidrFields = (input: LintInput) => input.resources.flatMap(cidrFields);

export const cidrCoversWorkloads: Check = {
  id: "cidr.covers-workloads",
  severity: "warning",
  summary:
    "ipBlocks and nets that hold workload addresses: policy by address where labels were possible",
  run(input) {
    const workloads = input.world.cluster.workloads().filter((w) => !w.hostNetwork);
    const findings: Finding[] = [];
    for (const f of allCidrFields(input)) {
      for (const cidr of f.cidrs) {
        // 0.0.0.0/0 and ::/0 mean "anywhere", not these workloads' addresses.
        if (cidr.prefix === 0) continue;
        const inside = workloads.filter((w) => w.addresses.some((a) => cidrContains(cidr, a)));
        if (inside.length === 0) continue;
        findings.push({
          check: this.id,
          severity: this.severity,
          object: f.object,
          path: f.path,
          message:
            `${cidr.text} holds the addresses of ${inside.length} workload(s) (${inside
              .slice(0, 3)
              .map((w) => w.id)
              .join(", ")}${inside.length > 3 ? ", ..." : ""}): ` +
            "the rule breaks when they move or scale; select them by label instead",
        });
      }
    }
    return findings;
  },
};

export const ipv4OnlyCidrs: Check = {
  id: "cidr.ipv4-only",
  severity: "warning",
  summary:
    "IPv4-only ipBlocks/nets in a dual-stack cluster: the same peers over IPv6 are not matched",
  run(input) {
    const dualStack = input.world.cluster
      .workloads()
      .some(
        (w) => w.addresses.some((a) => a.family === 4) && w.addresses.some((a) => a.family === 6),
      );
    if (!dualStack) return [];
    const byDirection = new Map<string, CidrField[]>();
    for (const f of allCidrFields(input)) {
      const key = `${f.object}\u0000${f.direction}`;
      byDirection.set(key, [...(byDirection.get(key) ?? []), f]);
    }
    const findings: Finding[] = [];
    for (const fields of byDirection.values()) {
      const cidrs = fields.flatMap((f) => f.cidrs);
      if (cidrs.some((c) => c.family === 6)) continue;
      const first = fields[0]!;
      findings.push({
        check: this.id,
        severity: this.severity,
        object: first.object,
        path: first.path,
        message:
          `${first.direction} peers are written as IPv4 ranges only (${cidrs.map((c) => c.text).join(", ")}) ` +
          "while workloads here have IPv6 addresses too: add the IPv6 ranges, or IPv6 traffic of these peers is not matched",
      });
    }
    return findings;
  },
};
