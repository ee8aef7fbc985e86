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
  readonly #groups = new Map<string, Group>();
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
    const key = `${start}\u0000${src}\u0000${dst}\u0000${f.dest_port}\u0000${f.proto}\u0000${f.action}\u0000${f.policy}\u0000${f.reporter}`;
    let g = this.#groups.get(key);
    if (g) return g;
    if (this.#groups.size >= this.#maxGroups) {
      this.overflow++;
      return undefined;
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
    this.#groups.set(key, g);
    return g;
  }

  /** Closes and returns the records of every interval that ended by `now` (all with Infinity). */
  flush(now: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const [key, g] of this.#groups) {
      const end = g.start + this.intervalMs;
      if (end > now) continue;
      this.#groups.delete(key);
      out.push({ ...g, end, wouldDenyBy: g.wouldDenyBy ? [...g.wouldDenyBy].sort() : [] });
    }
    return out.sort((a, b) => a.start - b.start || a.firstSeen - b.firstSeen);
  }

  get openGroups(): number {
    return this.#groups.size;
  }
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
