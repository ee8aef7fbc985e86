// Flow logs -> flow records per interval, keyed by (source identity, destination identity,
// destination port, protocol, action, policy, reporter) with packets, bytes, connections and
// first/last seen, as Calico's flow logs and Hubble's flows. With `byOwner`, replica pods fold
// into their owner (`frontend-*`). Pure: the caller says when time has passed (`flush`).
import type { Labels } from "../selector/index.ts";
import type { FlowFields, FlowLog } from "./flow-log.ts";
import { ownerName } from "./owner.ts";

export interface FlowRecord {
  /** The interval [start, end) in ms since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly fields: FlowFields;
  readonly sourceLabels: Labels;
  readonly destLabels: Labels;
  readonly packets: number;
  readonly bytes: number;
  readonly connections: number;
  /** Flow logs folded into this record. */
  readonly logs: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly reason: string;
  readonly isolatedBy: readonly string[];
  /** Flow logs the staged program would deny, and the staged policies that would. */
  readonly wouldDeny: number;
  readonly wouldDenyBy: readonly string[];
}

export interface AggregatorOptions {
  /** 15 s by default. */
  readonly intervalMs?: number;
  readonly byOwner?: boolean;
  /** Open groups kept at most; logs of further groups are counted in `overflow`. 100,000. */
  readonly maxGroups?: number;
}

interface Group {
  start: number;
  fields: FlowFields;
  sourceLabels: Labels;
  destLabels: Labels;
  packets: number;
  bytes: number;
  connections: number;
  logs: number;
  firstSeen: number;
  lastSeen: number;
  reason: string;
  isolatedBy: readonly string[];
  wouldDeny: number;
  /** Made on the first would-deny: most groups have none. */
  wouldDenyBy: Set<string> | undefined;
}

const identity = (kind: string, ns: string, name: string, ip: string) =>
  kind === "net" ? `net:${ip}` : `${kind}:${ns}/${name}`;

export class Aggregator {
  readonly intervalMs: number;
  readonly #byOwner: boolean;
  readonly #maxGroups: number;
  /**
   * Open groups per interval start. A flush visits only the intervals it closes: one map of
   * every open group was walked whole on each 1 s flush, O(open groups) per second.
   */
  readonly #intervals = new Map<number, Map<string, Group>>();
  #open = 0;
  /** Flow logs not aggregated because maxGroups groups were open. */
  overflow = 0;

  constructor(opts: AggregatorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 15_000;
    this.#byOwner = opts.byOwner ?? false;
    this.#maxGroups = opts.maxGroups ?? 100_000;
  }

  add(log: FlowLog): void {
    const g = this.#group(log, log.time);
    if (!g) return;
    g.packets += log.packets;
    g.bytes += log.bytes;
    g.connections += log.connections;
    g.logs++;
    if (log.time < g.firstSeen) g.firstSeen = log.time;
    if (log.time > g.lastSeen) g.lastSeen = log.time;
    if (log.staged?.action === "deny") {
      g.wouldDeny++;
      g.wouldDenyBy ??= new Set();
      for (const p of log.staged.policies) g.wouldDenyBy.add(p);
    }
  }

  /**
   * Packets and bytes a connection opened by `log` moved besides its opening packet, known when
   * it ended (`time`): they count in the record of the log's key in the interval it ended.
   */
  addCounts(log: FlowLog, time: number, packets: number, bytes: number): void {
    const g = this.#group(log, time);
    if (!g) return;
    g.packets += packets;
    g.bytes += bytes;
    if (time > g.lastSeen) g.lastSeen = time;
  }

  #group(log: FlowLog, time: number): Group | undefined {
    const f = this.#byOwner ? ownerFields(log.fields) : log.fields;
    const start = time - (time % this.intervalMs);
    const src = identity(f.source_kind, f.source_namespace, f.source_name, f.source_ip);
    const dst = identity(f.dest_kind, f.dest_namespace, f.dest_name, f.dest_ip);
    const key = `${src}\u0000${dst}\u0000${f.dest_port}\u0000${f.proto}\u0000${f.action}\u0000${f.policy}\u0000${f.reporter}`;
    let groups = this.#intervals.get(start);
    let g = groups?.get(key);
    if (g) return g;
    if (this.#open >= this.#maxGroups) {
      this.overflow++;
      return undefined;
    }
    if (!groups) {
      groups = new Map();
      this.#intervals.set(start, groups);
    }
    g = {
      start,
      fields: { ...f, source_port: "" },
      sourceLabels: log.sourceLabels,
      destLabels: log.destLabels,
      packets: 0,
      bytes: 0,
      connections: 0,
      logs: 0,
      firstSeen: time,
      lastSeen: time,
      reason: log.reason,
      isolatedBy: log.isolatedBy,
      wouldDeny: 0,
      wouldDenyBy: undefined,
    };
    groups.set(key, g);
    this.#open++;
    return g;
  }

  /** Closes and returns the records of every interval that ended by `now` (all with Infinity). */
  flush(now: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    const closed = [...this.#intervals.keys()]
      .filter((start) => start + this.intervalMs <= now)
      .sort((a, b) => a - b);
    for (const start of closed) {
      const groups = this.#intervals.get(start)!;
      this.#intervals.delete(start);
      this.#open -= groups.size;
      const end = start + this.intervalMs;
      const records: FlowRecord[] = [];
      for (const g of groups.values()) records.push(record(g, end));
      // Groups are made in arrival order, which is nearly firstSeen order: a cheap sort.
      records.sort((a, b) => a.firstSeen - b.firstSeen);
      for (const r of records) out.push(r);
    }
    return out;
  }

  get openGroups(): number {
    return this.#open;
  }
}

function record(g: Group, end: number): FlowRecord {
  return {
    start: g.start,
    fields: g.fields,
    sourceLabels: g.sourceLabels,
    destLabels: g.destLabels,
    packets: g.packets,
    bytes: g.bytes,
    connections: g.connections,
    logs: g.logs,
    firstSeen: g.firstSeen,
    lastSeen: g.lastSeen,
    reason: g.reason,
    isolatedBy: g.isolatedBy,
    wouldDeny: g.wouldDeny,
    wouldDenyBy: g.wouldDenyBy ? [...g.wouldDenyBy].sort() : [],
    end,
  };
}

/** Replica pods as their owner; addresses and ports of individual pods no longer apply. */
function ownerFields(f: FlowFields): FlowFields {
  const src = f.source_kind === "Pod" ? ownerName(f.source_name) : f.source_name;
  const dst = f.dest_kind === "Pod" ? ownerName(f.dest_name) : f.dest_name;
  if (src === f.source_name && dst === f.dest_name) return f;
  return {
    ...f,
    source_name: src,
    dest_name: dst,
    ...(src !== f.source_name ? { source_ip: "" } : {}),
    ...(dst !== f.dest_name ? { dest_ip: "" } : {}),
  };
}
