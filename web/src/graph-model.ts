// The service graph as data, pure: workloads grouped by namespace and application (owner),
// observed flow records folded into edges between applications, and what policy allows (the
// matrix) laid over them. The view only draws what this returns.
import type { Matrix } from "../../src/analysis/index.ts";
import type { FlowProjection, ProjectedFlowRecord } from "../../src/flows/projection.ts";
import type { ApiObject } from "./objects.ts";

/** What the graph reads of a flow record; the server sends only these (`fields=`). */
export const GRAPH_RECORD = {
  keys: ["lastSeen", "connections"],
  fields: [
    "action",
    "reporter",
    "proto",
    "policy",
    "rule",
    "source_ip",
    "source_namespace",
    "source_name",
    "dest_ip",
    "dest_port",
    "dest_namespace",
    "dest_name",
  ],
} as const satisfies FlowProjection;

export type GraphRecord = ProjectedFlowRecord<
  (typeof GRAPH_RECORD.keys)[number],
  (typeof GRAPH_RECORD.fields)[number]
>;

export interface Workload {
  /** `namespace/name`, as the matrix and explain name it. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** The application node it is drawn in: `namespace/owner`. */
  readonly app: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses: readonly string[];
  readonly kind: string;
}

const WORKLOAD_KINDS = new Set(["Pod", "WorkloadEndpoint"]);
const RANDOM = "[bcdfghjklmnpqrstvwxz2456789]";
const REPLICA = new RegExp(`^(.+?)(?:-${RANDOM}{6,10})?-${RANDOM}{5}$`);

/** A pod's application: its owner reference, else its name without replica suffix or ordinal. */
export function ownerOf(name: string, owner?: string): string {
  if (owner) return owner;
  const m = REPLICA.exec(name);
  if (m?.[1]) return m[1];
  return name.replace(/-\*$/, "").replace(/-\d+$/, "");
}

function addressesOf(o: ApiObject): string[] {
  const status = o.status as { podIPs?: { ip: string }[]; podIP?: string } | undefined;
  const spec = o.spec as { ipNetworks?: string[] } | undefined;
  if (status?.podIPs) return status.podIPs.map((p) => p.ip);
  if (status?.podIP) return [status.podIP];
  return spec?.ipNetworks ?? [];
}

export function workloadsOf(items: readonly ApiObject[]): Workload[] {
  return items
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((o) => {
      const namespace = o.metadata.namespace ?? "";
      const app = ownerOf(o.metadata.name, o.metadata.ownerReferences?.[0]?.name);
      return {
        id: `${namespace}/${o.metadata.name}`,
        namespace,
        name: o.metadata.name,
        app: `${namespace}/${app}`,
        labels: o.metadata.labels ?? {},
        addresses: addressesOf(o),
        kind: o.kind,
      };
    });
}

export type EdgeState =
  /** Observed and allowed. */
  | "allowed"
  /** Observed and denied. */
  | "denied"
  /** Observed both ways (some allowed, some denied). */
  | "mixed"
  /** Allowed by policy and never observed: a path nobody uses (over-permissive). */
  | "unused"
  /** Observed allowed, but policy as it stands now denies it. */
  | "would-deny";

export interface GraphEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  state: EdgeState;
  allowed: number;
  denied: number;
  readonly ports: Set<string>;
  /** The records folded in (the edge panel lists them). */
  readonly records: GraphRecord[];
  /** From the matrix overlay: a workload pair and port policy allows between these apps. */
  policyAllows: boolean;
  /** Observed allowed connections that policy as it stands now denies (matrix overlay). */
  wouldDeny: number;
  /** One flow of the edge to explain: its first record's, or a policy-allowed cell's. */
  sample?: FlowQuery;
}

/** A flow as explain takes it: workloads by `namespace/name`, else addresses. */
export interface FlowQuery {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
}

/** A record's flow as explain names it: the workload when the record names one, else its address. */
export function flowOfRecord(r: GraphRecord): FlowQuery {
  const f = r.fields;
  const side = (ns: string, name: string, ip: string) =>
    ns && name && !name.endsWith("-*") ? `${ns}/${name}` : ip;
  return {
    from: side(f.source_namespace, f.source_name, f.source_ip),
    to: side(f.dest_namespace, f.dest_name, f.dest_ip),
    port: Number(f.dest_port),
    protocol: f.proto.toUpperCase(),
  };
}

/** Which side reported a record, as the views name it: none for the node's own drops. */
export const reportedAt = (reporter: string): string =>
  reporter === "src" ? "egress" : reporter === "dst" ? "ingress" : "—";

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly namespace: string;
  readonly workloads: number;
}

export interface Graph {
  readonly namespaces: readonly string[];
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

export interface GraphFilter {
  readonly namespace?: string;
  /** `key=value` pairs, comma separated; a workload must carry them all. */
  readonly labels?: string;
  readonly verdict?: "all" | "allow" | "deny";
}

export const OUTSIDE = "outside";

export function labelMatcher(
  text: string | undefined,
): (l: Readonly<Record<string, string>>) => boolean {
  const pairs = (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const i = s.indexOf("=");
      return i < 0
        ? ([s, undefined] as const)
        : ([s.slice(0, i).trim(), s.slice(i + 1).trim()] as const);
    });
  return (l) => pairs.every(([k, v]) => (v === undefined ? k in l : l[k] === v));
}

/** Where one side of a record is drawn: its workload's app, else the owner-folded name, else outside. */
function sideApp(
  byId: ReadonlyMap<string, Workload>,
  byAddress: ReadonlyMap<string, Workload>,
  namespace: string,
  name: string,
  ip: string,
): string {
  const w = byId.get(`${namespace}/${name}`) ?? byAddress.get(ip);
  if (w) return w.app;
  if (namespace && name) return `${namespace}/${ownerOf(name)}`;
  return OUTSIDE;
}

export function buildGraph(
  workloads: readonly Workload[],
  records: readonly GraphRecord[],
  filter: GraphFilter,
  policy?: Matrix,
): Graph {
  const byId = new Map(workloads.map((w) => [w.id, w]));
  const byAddress = new Map<string, Workload>();
  for (const w of workloads) for (const a of w.addresses) byAddress.set(a.replace(/\/\d+$/, ""), w);
  const labelsOk = labelMatcher(filter.labels);
  const shown = workloads.filter(
    (w) => (!filter.namespace || w.namespace === filter.namespace) && labelsOk(w.labels),
  );
  const shownApps = new Set(shown.map((w) => w.app));
  const filtering = Boolean(filter.namespace || filter.labels);

  const nodes = new Map<string, GraphNode & { workloads: number }>();
  const addNode = (app: string) => {
    let n = nodes.get(app);
    if (!n) {
      const slash = app.indexOf("/");
      n = {
        id: app,
        label: slash < 0 ? app : app.slice(slash + 1),
        namespace: slash < 0 ? "" : app.slice(0, slash),
        workloads: 0,
      };
      nodes.set(app, n);
    }
    return n;
  };
  for (const w of shown) addNode(w.app).workloads++;

  const edges = new Map<string, GraphEdge>();
  const newEdge = (from: string, to: string): GraphEdge => ({
    id: `${from}->${to}`,
    from,
    to,
    state: "allowed",
    allowed: 0,
    denied: 0,
    ports: new Set(),
    records: [],
    policyAllows: false,
    wouldDeny: 0,
  });
  const edgeOf = (from: string, to: string) => {
    const id = `${from}->${to}`;
    let e = edges.get(id);
    if (!e) {
      e = newEdge(from, to);
      edges.set(id, e);
    }
    return e;
  };
  // Matrix cells by workload pair and port: whether policy now allows an observed flow.
  const cells = new Map<string, boolean>();
  for (const c of policy?.results ?? [])
    cells.set(`${c.from}|${c.to}|${c.port}/${c.protocol}`, c.allowed);
  // One connection between two workloads is reported twice: an egress record at its source
  // (allow, or the deny that stopped it there) and an ingress record at its destination (allow
  // or deny); Log records are neither. So per edge and port the connections allowed are those
  // past the source's egress less those the destination denied, or the destination's allows
  // where the source reports nothing (it is outside), and every deny counts once.
  type Counts = {
    srcAllow: number;
    dstAllow: number;
    denied: number;
    srcWould: number;
    dstWould: number;
  };
  // Edges of records, drawn below only if the verdict filter keeps them.
  const folded = new Map<string, { edge: GraphEdge; ports: Map<string, Counts> }>();
  for (const r of records) {
    const f = r.fields;
    const from = sideApp(byId, byAddress, f.source_namespace, f.source_name, f.source_ip);
    const to = sideApp(byId, byAddress, f.dest_namespace, f.dest_name, f.dest_ip);
    // With a filter, an edge is kept when either end is shown.
    if (filtering && !shownApps.has(from) && !shownApps.has(to)) continue;
    const id = `${from}->${to}`;
    const fold = folded.get(id) ?? { edge: newEdge(from, to), ports: new Map<string, Counts>() };
    folded.set(id, fold);
    fold.edge.records.push(r);
    fold.edge.sample ??= flowOfRecord(r);
    const port = `${f.dest_port}/${f.proto.toUpperCase()}`;
    const c = fold.ports.get(port) ?? {
      srcAllow: 0,
      dstAllow: 0,
      denied: 0,
      srcWould: 0,
      dstWould: 0,
    };
    fold.ports.set(port, c);
    const n = Math.max(1, r.connections);
    if (f.action === "deny") c.denied += n;
    else if (f.action === "allow") {
      const cell = `${f.source_namespace}/${f.source_name}|${f.dest_namespace}/${f.dest_name}|${port}`;
      const would = cells.get(cell) === false ? n : 0;
      if (f.reporter === "src") {
        c.srcAllow += n;
        c.srcWould += would;
      } else {
        c.dstAllow += n;
        c.dstWould += would;
      }
    }
  }
  for (const { edge: e, ports } of folded.values()) {
    let allowed = 0;
    let denied = 0;
    let wouldDeny = 0;
    const allowedPorts: string[] = [];
    const deniedPorts: string[] = [];
    for (const [port, c] of ports) {
      const a = Math.max(c.srcAllow - c.denied, c.dstAllow, 0);
      allowed += a;
      denied += c.denied;
      wouldDeny += Math.min(a, Math.max(c.srcWould, c.dstWould));
      if (a > 0) allowedPorts.push(port);
      if (c.denied > 0) deniedPorts.push(port);
    }
    if (filter.verdict === "allow" ? allowed === 0 : filter.verdict === "deny" && denied === 0)
      continue;
    addNode(e.from);
    addNode(e.to);
    edges.set(e.id, e);
    e.allowed = filter.verdict === "deny" ? 0 : allowed;
    e.denied = filter.verdict === "allow" ? 0 : denied;
    e.wouldDeny = filter.verdict === "deny" ? 0 : wouldDeny;
    const shown =
      filter.verdict === "allow"
        ? allowedPorts
        : filter.verdict === "deny"
          ? deniedPorts
          : [...ports.keys()];
    for (const p of shown) e.ports.add(p);
  }
  if (policy) {
    const app = new Map(workloads.map((w) => [w.id, w.app]));
    for (const c of policy.results) {
      if (!c.allowed || c.from === c.to) continue;
      const from = app.get(c.from);
      const to = app.get(c.to);
      // Replicas of one application reaching each other would only draw loops.
      if (!from || !to || from === to || (!shownApps.has(from) && !shownApps.has(to))) continue;
      if (filter.verdict === "deny") continue;
      const observed = edges.get(`${from}->${to}`);
      if (observed) observed.policyAllows = true;
      else {
        addNode(from);
        addNode(to);
        const e = edgeOf(from, to);
        e.policyAllows = true;
        e.ports.add(`${c.port}/${c.protocol}`);
        e.sample ??= { from: c.from, to: c.to, port: c.port, protocol: String(c.protocol) };
      }
    }
  }
  for (const e of edges.values()) {
    if (e.records.length === 0) e.state = "unused";
    else if (e.allowed > 0 && e.denied > 0) e.state = "mixed";
    else if (e.denied > 0) e.state = "denied";
    else e.state = e.wouldDeny > 0 ? "would-deny" : "allowed";
  }
  const namespaces = [...new Set(workloads.map((w) => w.namespace))].sort();
  return { namespaces, nodes: [...nodes.values()], edges: [...edges.values()] };
}
