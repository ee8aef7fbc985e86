// Least-privilege policies from observed flows, as StagedNetworkPolicies to stage, watch and
// promote. Workloads are grouped by owner (the same namespace and the same own labels: the
// replicas of one controller); each group gets one policy that selects it by the smallest
// label set that tells it apart in its namespace, isolates both directions, and allows exactly
// the peers and ports seen (ports merged into ranges per peer and protocol, UDP and DNS as
// recorded), with the evidence (flow records, connections, first and last seen) in annotations.
import type { FlowRecord } from "../flows/index.ts";
import { type Resource, validResources } from "../model/index.ts";
import {
  buildWorld,
  type Direction,
  type Endpoint,
  type Protocol,
  type World,
} from "../policy/index.ts";
import { observedFlows, replayFlow } from "./flow-replay.ts";

export interface RecommendOptions {
  /** Only workloads of this namespace get policies (peers anywhere). */
  readonly namespace?: string;
}

/** Labels the system adds (namespace, service account, orchestrator) are not the user's. */
const SYNTHETIC = /^(projectcalico\.org\/|pcns\.|pcsa\.)/;

function ownLabels(e: Endpoint): Record<string, string> {
  return Object.fromEntries(
    Object.entries(e.labels)
      .filter(([k]) => !SYNTHETIC.test(k))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

interface Group {
  readonly namespace: string;
  readonly members: Endpoint[];
  /** The labels written in selectors for this group. */
  selector: Record<string, string>;
  /** Label keys the group's workloads lack and others carry: `!has(key)` tells them apart. */
  absent: readonly string[];
  /** True when no label set picks out exactly these workloads in their namespace. */
  wider: boolean;
}

interface Evidence {
  records: number;
  connections: number;
  firstSeen: number;
  lastSeen: number;
}

interface PeerTraffic {
  readonly peer: Group | { readonly net: string };
  readonly ports: Map<Protocol, Set<number>>;
  readonly evidence: Evidence;
}

function groupsOf(world: World): Map<string, Group> {
  const byKey = new Map<string, Group>();
  const ofEndpoint = new Map<string, Group>();
  for (const w of world.cluster.workloads()) {
    if (w.hostNetwork || w.namespace === undefined) continue;
    const key = `${w.namespace}\u0000${JSON.stringify(ownLabels(w))}`;
    let g = byKey.get(key);
    if (!g) {
      g = {
        namespace: w.namespace,
        members: [],
        selector: ownLabels(w),
        absent: [],
        wider: false,
      };
      byKey.set(key, g);
    }
    g.members.push(w);
    ofEndpoint.set(w.id, g);
  }
  for (const g of byKey.values()) narrowSelector(world, g);
  return ofEndpoint;
}

const matchesAll = (labels: Record<string, string>, e: Endpoint) =>
  Object.entries(labels).every(([k, v]) => e.labels[k] === v);

/** The smallest subset of `labels` that selects exactly `members` in their namespace. */
function exactSelector(
  world: World,
  namespace: string,
  members: readonly Endpoint[],
  labels: Record<string, string>,
): Record<string, string> | undefined {
  const ids = new Set(members.map((m) => m.id));
  const others = world.cluster
    .workloads()
    .filter((w) => w.namespace === namespace && !w.hostNetwork && !ids.has(w.id));
  const entries = Object.entries(labels);
  const limit = Math.min(entries.length, 12);
  for (let size = 1; size <= limit; size++) {
    for (const subset of combinations(entries.slice(0, limit), size)) {
      const candidate = Object.fromEntries(subset);
      if (!others.some((o) => matchesAll(candidate, o))) return candidate;
    }
  }
  return undefined;
}

/**
 * The group's selector: the fewest of its labels that tell it apart, else all of them and
 * `!has(key)` for the keys only the look-alikes carry (a replica set without the `canary`
 * label next to one with it); wider only when even that matches another workload.
 */
function narrowSelector(world: World, g: Group): void {
  const exact = exactSelector(world, g.namespace, g.members, g.selector);
  if (exact) {
    g.selector = exact;
    return;
  }
  const ids = new Set(g.members.map((m) => m.id));
  const lookAlikes = world.cluster
    .workloads()
    .filter(
      (w) =>
        w.namespace === g.namespace &&
        !w.hostNetwork &&
        !ids.has(w.id) &&
        matchesAll(g.selector, w),
    );
  g.absent = [...new Set(lookAlikes.flatMap((w) => Object.keys(ownLabels(w))))].filter(
    (k) => !(k in g.selector),
  );
  g.wider = lookAlikes.some((w) => g.absent.every((k) => !(k in w.labels)));
}

/** Labels every member carries with the same value. */
function commonLabels(members: readonly Endpoint[]): Record<string, string> {
  const [first, ...rest] = members.map(ownLabels);
  return Object.fromEntries(
    Object.entries(first ?? {}).filter(([k, v]) => rest.every((l) => l[k] === v)),
  );
}

/**
 * Label-aware aggregation: peer groups of one namespace seen on the same ports become one rule
 * when a label set they share selects exactly them (every orderInput component: `app ==
 * "orderInput"`), rather than a rule per owner.
 */
function aggregatePeers(world: World, traffic: Map<string, PeerTraffic>): PeerTraffic[] {
  const buckets = new Map<string, PeerTraffic[]>();
  const out: PeerTraffic[] = [];
  for (const t of traffic.values()) {
    if ("net" in t.peer) {
      out.push(t);
      continue;
    }
    const ports = [...t.ports]
      .map(([proto, set]) => `${proto}:${[...set].sort((a, b) => a - b).join(",")}`)
      .sort()
      .join(";");
    const key = `${t.peer.namespace}\u0000${ports}`;
    buckets.set(key, [...(buckets.get(key) ?? []), t]);
  }
  for (const bucket of buckets.values()) {
    const groups = bucket.map((t) => t.peer as Group);
    const members = groups.flatMap((g) => g.members);
    const shared = bucket.length > 1 ? commonLabels(members) : {};
    const exact =
      bucket.length > 1 && Object.keys(shared).length > 0
        ? exactSelector(world, groups[0]!.namespace, members, shared)
        : undefined;
    if (!exact) {
      out.push(...bucket);
      continue;
    }
    const evidence = newEvidence();
    for (const t of bucket) addEvidence(evidence, t.evidence);
    out.push({
      peer: {
        namespace: groups[0]!.namespace,
        members,
        selector: exact,
        absent: [],
        wider: false,
      },
      ports: bucket[0]!.ports,
      evidence,
    });
  }
  return out;
}

function* combinations<T>(items: readonly T[], size: number, start = 0): Generator<T[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++) {
    for (const rest of combinations(items, size - 1, i + 1)) yield [items[i]!, ...rest];
  }
}

function selectorText(g: Pick<Group, "selector" | "absent">): string {
  const terms = [
    ...Object.entries(g.selector).map(([k, v]) => `${k} == "${v}"`),
    ...g.absent.map((k) => `!has(${k})`),
  ];
  return terms.length === 0 ? "all()" : terms.join(" && ");
}

/** 80, 81, 82, 443 as [80:82, 443]: Calico's port ranges. */
export function mergePorts(ports: Iterable<number>): Array<number | string> {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const out: Array<number | string> = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j === i ? sorted[i]! : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return out;
}

const addEvidence = (e: Evidence, o: Readonly<Evidence>) => {
  e.records += o.records;
  e.connections += o.connections;
  e.firstSeen = Math.min(e.firstSeen, o.firstSeen);
  e.lastSeen = Math.max(e.lastSeen, o.lastSeen);
};

const newEvidence = (): Evidence => ({
  records: 0,
  connections: 0,
  firstSeen: Number.POSITIVE_INFINITY,
  lastSeen: 0,
});

const evidenceText = (e: Evidence) =>
  `${e.records} flow records, ${e.connections} connections, seen ${new Date(e.firstSeen).toISOString()} to ${new Date(e.lastSeen).toISOString()}`;

function peerSide(peer: PeerTraffic["peer"], policyNamespace: string): Record<string, unknown> {
  if ("net" in peer) return { nets: [peer.net] };
  return {
    selector: selectorText(peer),
    ...(peer.namespace !== policyNamespace
      ? { namespaceSelector: `projectcalico.org/name == "${peer.namespace}"` }
      : {}),
  };
}

function rules(
  world: World,
  direction: Direction,
  traffic: Map<string, PeerTraffic>,
  namespace: string,
) {
  return aggregatePeers(world, traffic).flatMap((t) =>
    [...t.ports].map(([protocol, ports]) => {
      const peer = peerSide(t.peer, namespace);
      const portMatch = { ports: mergePorts(ports) };
      return {
        action: "Allow",
        protocol,
        ...(direction === "ingress"
          ? { source: peer, destination: portMatch }
          : { destination: { ...peer, ...portMatch } }),
        metadata: {
          annotations: {
            "microseg.io/flow-records": String(t.evidence.records),
            "microseg.io/connections": String(t.evidence.connections),
          },
        },
      };
    }),
  );
}

const groupName = (g: Group) =>
  `recommended-${
    // Values name the group (`web`), except flags, where the key says more (`canary`).
    Object.entries(g.selector)
      .map(([k, v]) => (v === "true" || v === "false" || v === "" ? k : v))
      .join("-")
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 200) || "workloads"
  }`;

export function recommend(
  resources: readonly Resource[],
  records: readonly FlowRecord[],
  opts: RecommendOptions = {},
): Resource[] {
  const world = buildWorld(resources);
  const groupOf = groupsOf(world);
  const traffic = new Map<
    Group,
    { ingress: Map<string, PeerTraffic>; egress: Map<string, PeerTraffic>; evidence: Evidence }
  >();
  const trafficOf = (g: Group) => {
    let t = traffic.get(g);
    if (!t) {
      t = { ingress: new Map(), egress: new Map(), evidence: newEvidence() };
      traffic.set(g, t);
    }
    return t;
  };
  for (const g of new Set(groupOf.values())) trafficOf(g);
  // Denied attempts are what least privilege keeps out: only flows that went through count.
  for (const o of observedFlows(records).filter((f) => f.delivered)) {
    const flow = replayFlow(world, o);
    if (!flow) continue;
    const src = flow.source.endpoint ? groupOf.get(flow.source.endpoint.id) : undefined;
    const dst = flow.destination.endpoint ? groupOf.get(flow.destination.endpoint.id) : undefined;
    const netOf = (address: { text: string; family: 4 | 6 } | undefined) =>
      address ? { net: `${address.text}/${address.family === 4 ? 32 : 128}` } : undefined;
    const note = (
      owner: Group | undefined,
      direction: Direction,
      peer: PeerTraffic["peer"] | undefined,
    ) => {
      if (!owner || !peer) return;
      const t = trafficOf(owner);
      const side = direction === "ingress" ? t.ingress : t.egress;
      const key = "net" in peer ? `net:${peer.net}` : `${peer.namespace}/${groupName(peer)}`;
      let p = side.get(key);
      if (!p) {
        p = { peer, ports: new Map(), evidence: newEvidence() };
        side.set(key, p);
      }
      const set = p.ports.get(o.protocol) ?? new Set<number>();
      set.add(o.port);
      p.ports.set(o.protocol, set);
      addEvidence(p.evidence, o);
      addEvidence(t.evidence, o);
    };
    // A workload always reaches itself; replicas of one owner reaching each other need a rule.
    if (flow.source.endpoint && flow.source.endpoint.id === flow.destination.endpoint?.id) continue;
    note(dst, "ingress", src ?? netOf(flow.source.address));
    note(src, "egress", dst ?? netOf(flow.destination.address));
  }
  const names = new Map<string, number>();
  const out: unknown[] = [];
  for (const [g, t] of [...traffic].sort(([a], [b]) =>
    `${a.namespace}/${groupName(a)}` < `${b.namespace}/${groupName(b)}` ? -1 : 1,
  )) {
    if (opts.namespace !== undefined && g.namespace !== opts.namespace) continue;
    const base = groupName(g);
    const n = (names.get(`${g.namespace}/${base}`) ?? 0) + 1;
    names.set(`${g.namespace}/${base}`, n);
    out.push({
      apiVersion: "microseg.io/v1",
      kind: "StagedNetworkPolicy",
      metadata: {
        name: n === 1 ? base : `${base}-${n}`,
        namespace: g.namespace,
        annotations: {
          "microseg.io/recommended": "true",
          "microseg.io/evidence":
            t.evidence.records > 0 ? evidenceText(t.evidence) : "no flows observed: deny all",
          "microseg.io/workloads": g.members.map((m) => m.id).join(","),
          ...(g.wider
            ? {
                "microseg.io/wider-than-observed":
                  "no label set picks out exactly these workloads; the selector also matches others",
              }
            : {}),
        },
      },
      spec: {
        stagedAction: "Set",
        // The application's own least privilege: the default tier, below the admin tiers and
        // any security tier the platform team writes, which keep the final say.
        tier: "default",
        selector: selectorText(g),
        types: ["Ingress", "Egress"],
        ingress: rules(world, "ingress", t.ingress, g.namespace),
        egress: rules(world, "egress", t.egress, g.namespace),
      },
    });
  }
  return validResources(out);
}
