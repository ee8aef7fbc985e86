// Server-side printing, as kubectl asks for it (`Accept: application/json;as=Table;g=meta.k8s.io;
// v=v1`): a meta.k8s.io Table per list or watch event, with the columns kubectl prints for
// Kubernetes kinds and calicoctl's for Calico's. Priority-1 columns show with `-o wide`.
import type { KindInfo, Resource } from "../model/index.ts";

type Cell = string | number;

interface Column {
  readonly name: string;
  readonly priority?: 1;
  readonly type?: "string" | "integer";
  readonly cell: (r: Resource, now: number) => Cell;
}

/** kubectl's `translateTimestampSince`: 45s, 5m10s, 47m, 5h3m, 29h, 6d5h, 45d, 3y20d. */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  const y = Math.floor(d / 365);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

/** A field by dotted path, from any kind's object: printing reads loosely what schemas fixed. */
function at(r: Resource, path: string): unknown {
  let v: unknown = r;
  for (const key of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const text = (v: unknown, none = "<none>"): string =>
  v === undefined || v === "" ? none : String(v);

/** A metav1.LabelSelector as kubectl prints it: `app=web,tier in (a,b)`, `<none>` for `{}`. */
function labelSelectorText(v: unknown): string {
  if (typeof v !== "object" || v === null) return "<none>";
  const sel = v as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, val]) => `${k}=${val}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(",")})`;
    if (e.operator === "In") parts.push(`${e.key} in ${values}`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin ${values}`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

const NAME: Column = { name: "Name", cell: (r) => r.metadata.name };
const AGE: Column = {
  name: "Age",
  cell: (r, now) => {
    const created = Date.parse(String(at(r, "metadata.creationTimestamp")));
    return Number.isNaN(created) ? "<unknown>" : humanAge(now - created);
  },
};

const podReady = (r: Resource): string => {
  const containers = (at(r, "spec.containers") as unknown[] | undefined)?.length ?? 0;
  const statuses = (at(r, "status.containerStatuses") as { ready?: boolean }[] | undefined) ?? [];
  return `${statuses.filter((s) => s.ready).length}/${containers}`;
};

const podIp = (r: Resource): string => text(at(r, "status.podIP") ?? at(r, "status.podIPs.0.ip"));

const calicoPolicy: Column[] = [
  NAME,
  { name: "Tier", cell: (r) => text(at(r, "spec.tier")) },
  { name: "Order", cell: (r) => text(at(r, "spec.order")) },
  { name: "Selector", cell: (r) => text(at(r, "spec.selector"), "all()") },
  AGE,
];

const joined = (r: Resource, path: string) =>
  text((at(r, path) as string[] | undefined)?.join(","));

const networkSet: Column[] = [NAME, { name: "Nets", cell: (r) => joined(r, "spec.nets") }, AGE];

// Keyed by group and kind: NetworkPolicy exists in networking.k8s.io and microseg.io.
const COLUMNS: Record<string, Column[]> = {
  "/Namespace": [NAME, { name: "Status", cell: (r) => text(at(r, "status.phase"), "Active") }, AGE],
  "/Node": [
    NAME,
    AGE,
    { name: "Internal-IP", priority: 1, cell: (r) => text(at(r, "status.addresses.0.address")) },
  ],
  "/Pod": [
    NAME,
    { name: "Ready", cell: podReady },
    { name: "Status", cell: (r) => text(at(r, "status.phase"), "Pending") },
    {
      name: "Restarts",
      type: "integer",
      cell: (r) => {
        const s = (at(r, "status.containerStatuses") as { restartCount?: number }[]) ?? [];
        return s.reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
      },
    },
    AGE,
    { name: "IP", priority: 1, cell: podIp },
    { name: "Node", priority: 1, cell: (r) => text(at(r, "spec.nodeName")) },
  ],
  "networking.k8s.io/NetworkPolicy": [
    NAME,
    { name: "Pod-Selector", cell: (r) => labelSelectorText(at(r, "spec.podSelector")) },
    AGE,
  ],
  "policy.networking.k8s.io/AdminNetworkPolicy": [
    NAME,
    { name: "Priority", type: "integer", cell: (r) => Number(at(r, "spec.priority")) },
    AGE,
  ],
  "policy.networking.k8s.io/ClusterNetworkPolicy": [
    NAME,
    { name: "Tier", cell: (r) => text(at(r, "spec.tier")) },
    { name: "Priority", cell: (r) => text(at(r, "spec.priority")) },
    AGE,
  ],
  "microseg.io/Tier": [
    NAME,
    { name: "Order", cell: (r) => text(at(r, "spec.order")) },
    { name: "Default-Action", cell: (r) => text(at(r, "spec.defaultAction"), "Deny") },
    AGE,
  ],
  "microseg.io/NetworkPolicy": calicoPolicy,
  "microseg.io/GlobalNetworkPolicy": calicoPolicy,
  "microseg.io/StagedNetworkPolicy": calicoPolicy,
  "microseg.io/StagedGlobalNetworkPolicy": calicoPolicy,
  "microseg.io/NetworkSet": networkSet,
  "microseg.io/GlobalNetworkSet": networkSet,
  "microseg.io/WorkloadEndpoint": [
    NAME,
    { name: "Node", cell: (r) => text(at(r, "spec.node")) },
    {
      name: "Networks",
      cell: (r) => joined(r, "spec.ipNetworks"),
    },
    { name: "Interface", cell: (r) => text(at(r, "spec.interfaceName")) },
    AGE,
  ],
  "microseg.io/HostEndpoint": [
    NAME,
    { name: "Node", cell: (r) => text(at(r, "spec.node")) },
    { name: "Interface", cell: (r) => text(at(r, "spec.interfaceName"), "*") },
    AGE,
  ],
};

function columnsOf(info: KindInfo): Column[] {
  return COLUMNS[`${info.group}/${info.kind}`] ?? [NAME, AGE];
}

/** The Table versions kubectl asks for; the Accept header names which. */
export type TableVersion = "v1" | "v1beta1";

/**
 * Which representation the Accept header asks for first: a Table, plain JSON, or nothing
 * this server makes (protobuf only). Kubernetes' rule: the first acceptable entry wins.
 */
export function negotiate(accept: string | undefined): TableVersion | "json" | undefined {
  if (!accept) return "json";
  for (const entry of accept.split(",")) {
    const [type = "", ...params] = entry.split(";").map((p) => p.trim());
    const p = Object.fromEntries(params.map((kv) => kv.split("=").map((s) => s.trim())));
    if (!["application/json", "application/*", "*/*"].includes(type)) continue;
    if (p.as === undefined) return "json";
    if (p.as === "Table" && p.g === "meta.k8s.io" && (p.v === "v1" || p.v === "v1beta1")) {
      return p.v;
    }
  }
  return undefined;
}

export function toTable(
  info: KindInfo,
  items: readonly Resource[],
  opts: { version: TableVersion; resourceVersion?: string; now: number },
) {
  const columns = columnsOf(info);
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: columns.map((c, i) => ({
      name: c.name,
      type: c.type ?? "string",
      format: i === 0 ? "name" : "",
      description: "",
      priority: c.priority ?? 0,
    })),
    rows: items.map((r) => ({
      cells: columns.map((c) => c.cell(r, opts.now)),
      object: {
        kind: "PartialObjectMetadata",
        apiVersion: `meta.k8s.io/${opts.version}`,
        metadata: r.metadata,
      },
    })),
  };
}
