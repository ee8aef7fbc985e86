// What the same requirements would cost in the address-pool model, against what microseg
// enforces them with. Pool model: each distinct combination of policy memberships (the
// selectors, subject or peer, that match a workload) within a segment (its namespace) is one
// address pool, a CIDR block sized for the pool's replicas; each pair of pools in different
// segments with some allowed port needs a firewall rule set, one rule per allowed port.
// microseg: the sets, rules and elements of the real nftables renderer's table for the same
// resources (every endpoint local, as one node holding the whole cluster).
import { DEFAULT_ENFORCEMENT, NftRenderer } from "../dataplane/nftables/index.ts";
import { Engine } from "../engine/index.ts";
import { CONTROLLER_KINDS, type Resource } from "../model/index.ts";
import { buildWorld, type Endpoint, type PortProtocol, type World } from "../policy/index.ts";
import { declaredPorts } from "./matrix.ts";

export interface Pool {
  /** The segment (namespace; "" for global workloads). */
  readonly segment: string;
  /** The canonical selectors its workloads match: what makes it a pool of its own. */
  readonly memberships: readonly string[];
  readonly workloads: readonly string[];
  readonly replicas: number;
  /** The CIDR block it needs: the smallest power of two holding its replicas. */
  readonly addresses: number;
}

export interface FirewallSet {
  readonly from: number;
  readonly to: number;
  readonly ports: readonly PortProtocol[];
}

export interface CostReport {
  readonly pools: number;
  readonly poolAddresses: number;
  readonly segments: number;
  readonly firewallSets: number;
  readonly firewallRules: number;
  readonly sets: number;
  readonly rules: number;
  readonly elements: number;
  readonly poolList: readonly Pool[];
  readonly firewallList: readonly FirewallSet[];
}

interface Membership {
  readonly key: string;
  readonly matches: (labels: Endpoint["labels"]) => boolean;
}

/** Every selector of the program, policy subjects and rule sides, once per canonical text. */
function memberships(world: World): Membership[] {
  const byKey = new Map<string, Membership>();
  for (const tier of world.program.tiers) {
    for (const p of tier.policies) {
      byKey.set(p.selector.key, p.selector);
      for (const r of [...p.ingress, ...p.egress]) {
        for (const side of [r.source, r.destination]) {
          if (side.selector) byKey.set(side.selector.key, side.selector);
        }
      }
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** Replicas a workload stands for: a controller template its spec.replicas (default 1), a pod 1. */
function replicaCounts(resources: readonly Resource[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of resources) {
    if (!CONTROLLER_KINDS.has(r.kind)) continue;
    const spec = "spec" in r ? (r.spec as { replicas?: number } | undefined) : undefined;
    const id = `${r.metadata.namespace ?? ""}/${r.kind.toLowerCase()}/${r.metadata.name}`;
    out.set(id, spec?.replicas ?? 1);
  }
  return out;
}

const blockFor = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

export function poolModel(
  world: World,
  resources: readonly Resource[],
): Pick<
  CostReport,
  | "pools"
  | "poolAddresses"
  | "segments"
  | "firewallSets"
  | "firewallRules"
  | "poolList"
  | "firewallList"
> {
  const matchers = memberships(world);
  const replicas = replicaCounts(resources);
  const groups = new Map<string, { segment: string; memberships: string[]; members: Endpoint[] }>();
  for (const w of world.cluster.workloads()) {
    if (w.hostNetwork) continue;
    const mine = matchers.filter((m) => m.matches(w.labels)).map((m) => m.key);
    const segment = w.namespace ?? "";
    const key = `${segment}\u0000${mine.join("\u0000")}`;
    const g = groups.get(key) ?? { segment, memberships: mine, members: [] };
    g.members.push(w);
    groups.set(key, g);
  }
  const entries = [...groups.values()].sort((a, b) =>
    a.segment !== b.segment
      ? a.segment < b.segment
        ? -1
        : 1
      : a.memberships.join() < b.memberships.join()
        ? -1
        : 1,
  );
  const poolList: Pool[] = entries.map((g) => {
    const n = g.members.reduce((sum, w) => sum + (replicas.get(w.id) ?? 1), 0);
    return {
      segment: g.segment,
      memberships: g.memberships,
      workloads: g.members.map((w) => w.id),
      replicas: n,
      addresses: blockFor(n),
    };
  });
  const firewallList: FirewallSet[] = [];
  entries.forEach((from, i) => {
    const source = world.cluster.peerOf(from.members[0]!);
    entries.forEach((to, j) => {
      if (from.segment === to.segment) return;
      const destination = world.cluster.peerOf(to.members[0]!);
      const ports = declaredPorts(to.members).filter(
        (pp) => world.evaluator.evaluate({ source, destination, ...pp }).allowed,
      );
      if (ports.length > 0) firewallList.push({ from: i, to: j, ports });
    });
  });
  return {
    pools: poolList.length,
    poolAddresses: poolList.reduce((sum, p) => sum + p.addresses, 0),
    segments: new Set(poolList.map((p) => p.segment)).size,
    firewallSets: firewallList.length,
    firewallRules: firewallList.reduce((sum, f) => sum + f.ports.length, 0),
    poolList,
    firewallList,
  };
}

/** Sets, rules and elements of the table the renderer writes for these resources. */
export function microsegTableSize(
  resources: readonly Resource[],
): Pick<CostReport, "sets" | "rules" | "elements"> {
  const engine = new Engine({});
  engine.ingest(resources.map((resource) => ({ type: "upsert" as const, resource })));
  engine.flush();
  const tx = new NftRenderer(DEFAULT_ENFORCEMENT).full(engine.state());
  let sets = 0;
  let rules = 0;
  let elements = 0;
  for (const c of tx.commands) {
    if (c.verb !== "add") continue;
    if (c.object.kind === "set") sets++;
    else if (c.object.kind === "rule") rules++;
    else if (c.object.kind === "element") elements++;
  }
  return { sets, rules, elements };
}

export function cost(resources: readonly Resource[]): CostReport {
  return { ...poolModel(buildWorld(resources), resources), ...microsegTableSize(resources) };
}

/** The comparison in a few lines. */
export function formatCost(c: CostReport): string {
  const lines = [
    "address-pool model (pools per combination of policy memberships, firewalls between segments):",
    `  pools            ${c.pools} (${c.poolAddresses} addresses sized for replicas, ${c.segments} segments)`,
    `  firewall sets    ${c.firewallSets} (allowed pool pairs across segments)`,
    `  firewall rules   ${c.firewallRules} (one per allowed port of each pair)`,
    "microseg (the nftables table for the same resources):",
    `  sets             ${c.sets}`,
    `  rules            ${c.rules}`,
    `  elements         ${c.elements}`,
  ];
  return `${lines.join("\n")}\n`;
}
