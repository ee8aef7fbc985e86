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
import {
  buildWorld,
  type Direction,
  type Endpoint,
  type PortProtocol,
  type World,
} from "../policy/index.ts";
import { getOrCreate } from "../util/maps.ts";
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
  /** The first FIREWALL_LIST_LIMIT firewall sets (pool indexes in poolList). */
  readonly firewallList: readonly FirewallSet[];
  readonly firewallListTruncated: boolean;
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
          if (side.notSelector) byKey.set(side.notSelector.key, side.notSelector);
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

/** Firewall sets listed in the report at most; the counts always cover all of them. */
export const FIREWALL_LIST_LIMIT = 10_000;

interface PoolGroup {
  readonly segment: string;
  readonly memberships: string[];
  readonly set: Set<string>;
  readonly members: Endpoint[];
}

/**
 * What a subject's verdict in one direction can depend on about its peer: the peer's
 * membership in the selectors of the peer side of the rules of every policy selecting it
 * (`keys`), or everything about it (`exact`: rules by address, by node, by namespace labels
 * relative to the subject, named ports the peer resolves, IP version, network sets that may
 * hold the peer's address).
 */
type Dependence = { readonly keys: readonly string[] } | "exact";

function dependence(world: World, subject: Endpoint, direction: Direction): Dependence {
  if (world.cluster.networkSets.length > 0) return "exact";
  const keys = new Set<string>();
  for (const { policies } of world.evaluator.selection(subject, direction)) {
    for (const p of policies) {
      for (const r of direction === "ingress" ? p.ingress : p.egress) {
        const peer = direction === "ingress" ? r.source : r.destination;
        const byPeerAddress = [r.source, r.destination].some(
          (side) =>
            side.nets ||
            side.notNets ||
            side.nodeSelector ||
            side.sameNamespaceLabels ||
            side.notSameNamespaceLabels,
        );
        const named = [...(peer.ports ?? []), ...(peer.notPorts ?? [])].some(
          (m) => m.kind === "named",
        );
        if (byPeerAddress || named || r.ipVersion !== undefined) return "exact";
        if (peer.selector) keys.add(peer.selector.key);
        if (peer.notSelector) keys.add(peer.notSelector.key);
      }
    }
  }
  return { keys: [...keys].sort() };
}

/**
 * Per subject pool and direction, each peer pool's class: peers of one class are alike to
 * every rule judging that subject, so one verdict per (subject, class, port) holds for all.
 * Subjects with the same dependence share one classification.
 */
function peerClasses(
  world: World,
  groups: readonly PoolGroup[],
  direction: Direction,
): { readonly of: Int32Array; readonly count: number }[] {
  const bySignature = new Map<string, { of: Int32Array; count: number }>();
  return groups.map((g) => {
    const dep = dependence(world, g.members[0]!, direction);
    const signature = dep === "exact" ? "exact" : dep.keys.join("\u0000");
    let classes = bySignature.get(signature);
    if (!classes) {
      const ids = new Map<string, number>();
      const of = Int32Array.from(groups, (peer, i) => {
        if (dep === "exact") return i;
        const bits = dep.keys.map((k) => (peer.set.has(k) ? "1" : "0")).join("");
        return getOrCreate(ids, bits, () => ids.size);
      });
      classes = { of, count: dep === "exact" ? groups.length : ids.size };
      bySignature.set(signature, classes);
    }
    return classes;
  });
}

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
  | "firewallListTruncated"
> {
  const matchers = memberships(world);
  const replicas = replicaCounts(resources);
  const byKey = new Map<string, PoolGroup>();
  for (const w of world.cluster.workloads()) {
    if (w.hostNetwork) continue;
    const mine = matchers.filter((m) => m.matches(w.labels)).map((m) => m.key);
    const segment = w.namespace ?? "";
    const key = `${segment}\u0000${mine.join("\u0000")}`;
    const g = byKey.get(key) ?? { segment, memberships: mine, set: new Set(mine), members: [] };
    g.members.push(w);
    byKey.set(key, g);
  }
  const groups = [...byKey.values()].sort((a, b) =>
    a.segment !== b.segment
      ? a.segment < b.segment
        ? -1
        : 1
      : a.memberships.join() < b.memberships.join()
        ? -1
        : 1,
  );
  const poolList: Pool[] = groups.map((g) => {
    const n = g.members.reduce((sum, w) => sum + (replicas.get(w.id) ?? 1), 0);
    return {
      segment: g.segment,
      memberships: g.memberships,
      workloads: g.members.map((w) => w.id),
      replicas: n,
      addresses: blockFor(n),
    };
  });
  const firewalls = firewallSets(world, groups);
  return {
    pools: poolList.length,
    poolAddresses: poolList.reduce((sum, p) => sum + p.addresses, 0),
    segments: new Set(poolList.map((p) => p.segment)).size,
    ...firewalls,
    poolList,
  };
}

/**
 * Every pool pair across segments with an allowed port. The evaluator judges a representative
 * pair once per (source, its class of the destination, port) for egress and (destination, its
 * class of the source, port) for ingress; every other pair reads both halves from there.
 */
function firewallSets(world: World, groups: readonly PoolGroup[]) {
  const peers = groups.map((g) => world.cluster.peerOf(g.members[0]!));
  const ports = groups.map((g) => declaredPorts(g.members));
  const portIndex = new Map<string, number>();
  const portId = groups.map((_, j) =>
    ports[j]!.map((pp) => {
      return getOrCreate(portIndex, `${pp.port}/${pp.protocol}`, () => portIndex.size);
    }),
  );
  const P = Math.max(1, portIndex.size);
  const egressClass = peerClasses(world, groups, "egress");
  const ingressClass = peerClasses(world, groups, "ingress");
  // One verdict half per (subject, class, port): 0 unknown, 1 denied, 2 allowed.
  const egressSeen = egressClass.map((c) => new Uint8Array(c.count * P));
  const ingressSeen = ingressClass.map((c) => new Uint8Array(c.count * P));
  const firewallList: FirewallSet[] = [];
  let sets = 0;
  let rules = 0;
  for (let j = 0; j < groups.length; j++) {
    const toPorts = ports[j]!;
    const ids = portId[j]!;
    const segment = groups[j]!.segment;
    const iSeen = ingressSeen[j]!;
    const iOf = ingressClass[j]!.of;
    for (let i = 0; i < groups.length && toPorts.length > 0; i++) {
      if (groups[i]!.segment === segment) continue;
      const eKey = egressClass[i]!.of[j]! * P;
      const iKey = iOf[i]! * P;
      const eSeen = egressSeen[i]!;
      let allowed = 0;
      let list: PortProtocol[] | undefined;
      for (let k = 0; k < toPorts.length; k++) {
        const e = eKey + ids[k]!;
        const n = iKey + ids[k]!;
        if (eSeen[e] === 0 || iSeen[n] === 0) {
          const pp = toPorts[k]!;
          const v = world.evaluator.evaluate({ source: peers[i]!, destination: peers[j]!, ...pp });
          eSeen[e] = v.egress.allowed ? 2 : 1;
          iSeen[n] = v.ingress.allowed ? 2 : 1;
        }
        if (eSeen[e] !== 2 || iSeen[n] !== 2) continue;
        allowed++;
        if (firewallList.length < FIREWALL_LIST_LIMIT) {
          list = list ?? [];
          list.push(toPorts[k]!);
        }
      }
      if (allowed === 0) continue;
      sets++;
      rules += allowed;
      if (list) firewallList.push({ from: i, to: j, ports: list });
    }
  }
  return {
    firewallSets: sets,
    firewallRules: rules,
    firewallList,
    firewallListTruncated: sets > firewallList.length,
  };
}

export interface CostOptions {
  /**
   * Count the verdict-map fast path too (its identity maps and per-endpoint elements). Off by
   * default: the fast path caches the same verdicts for speed, its elements grow with
   * identities x local endpoints (on one node holding the whole cluster, about a million at
   * 5,000 pods) and computing them takes minutes there; the requirements are the policy table.
   */
  readonly verdictMaps?: boolean;
}

/** Sets, rules and elements of the table the renderer writes for these resources. */
export function microsegTableSize(
  resources: readonly Resource[],
  opts: CostOptions = {},
): Pick<CostReport, "sets" | "rules" | "elements"> {
  const engine = new Engine({});
  engine.ingest(resources.map((resource) => ({ type: "upsert" as const, resource })));
  engine.flush();
  const config = { ...DEFAULT_ENFORCEMENT, verdictMaps: opts.verdictMaps ?? false };
  const tx = new NftRenderer(config).full(engine.state());
  let sets = 0;
  let rules = 0;
  let elements = 0;
  for (const c of tx.commands) {
    if (c.verb !== "add") continue;
    if (c.object.kind === "set") sets++;
    else if (c.object.kind === "rule") rules++;
    else if (c.object.kind === "element") elements += c.object.elements.length;
  }
  return { sets, rules, elements };
}

export function cost(resources: readonly Resource[], opts: CostOptions = {}): CostReport {
  return { ...poolModel(buildWorld(resources), resources), ...microsegTableSize(resources, opts) };
}

/** The comparison in a few lines. */
export function formatCost(c: CostReport): string {
  const lines = [
    "address-pool model (pools per combination of policy memberships, firewalls between segments):",
    `  pools            ${c.pools} (${c.poolAddresses} addresses sized for replicas, ${c.segments} segments)`,
    `  firewall sets    ${c.firewallSets} (allowed pool pairs across segments)`,
    `  firewall rules   ${c.firewallRules} (one per allowed port of each pair)`,
    "microseg (the nftables policy table for the same resources, one node holding them all):",
    `  sets             ${c.sets}`,
    `  rules            ${c.rules}`,
    `  elements         ${c.elements}`,
  ];
  return `${lines.join("\n")}\n`;
}
