// The flows stage wired, after Felix's calculation graph in spirit: one function of each piece,
// none constructing another.
//
//   PacketLog --Enricher--> FlowLog --+--> Aggregator --flush--> FlowStore (+ live stream)
//                                     +--> AlertEvaluator --> sinks (stream, stdout, webhook, AM)
//                                     +--> live flow-log stream, counters
//                                     +--> ConnectionTable (the logs that opened connections)
//   ConnectionEnd (conntrack) --ConnectionTable--> shares --> Aggregator (packets, bytes)
//
// Packets are handled as they arrive, so an alert is as late as ulogd2's record; time-driven
// work (closing intervals, metric alerts) runs on a 1 s timer or when the caller says.
import type { Aggregator, FlowRecord } from "./aggregate.ts";
import type { Alert, AlertEvaluator } from "./alerts.ts";
import { type ConnectionStats, ConnectionTable } from "./connections.ts";
import type { ConnectionEnd } from "./conntrack-log.ts";
import { Enricher } from "./enrich.ts";
import type { FlowContext } from "./flow-context.ts";
import type { FlowLog } from "./flow-log.ts";
import type { FlowStore } from "./flow-store.ts";
import type { PacketLog } from "./packet-log.ts";
import type { AlertSink } from "./sinks/sinks.ts";
import { LiveStream } from "./stream.ts";

export interface FlowPipelineOptions {
  readonly context: FlowContext;
  readonly aggregator: Aggregator;
  readonly alerts: AlertEvaluator;
  readonly sinks: readonly AlertSink[];
  readonly store?: FlowStore;
  readonly now?: () => number;
}

export interface FlowStats {
  /** NFLOG records read, and those that were not microseg's (another rule's prefix). */
  readonly records: number;
  readonly foreign: number;
  readonly byAction: Readonly<Record<string, number>>;
  /** Per policy (`tier/policy`) and action: packets and connections from the records. */
  readonly byPolicy: Readonly<Record<string, { packets: number; connections: number }>>;
  /** Flow logs the staged program would deny, per staged policy. */
  readonly wouldDeny: Readonly<Record<string, number>>;
  readonly alerts: Readonly<Record<string, number>>;
  readonly aggregationOverflow: number;
  /** Connection ends from conntrack, and whether a logged connection was theirs. */
  readonly connections: ConnectionStats;
  readonly sinks: Readonly<Record<string, unknown>>;
}

export class FlowPipeline {
  readonly logs = new LiveStream<FlowLog>();
  readonly records = new LiveStream<FlowRecord>();
  readonly #opts: FlowPipelineOptions;
  readonly #enricher: Enricher;
  readonly #connections = new ConnectionTable();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #records = 0;
  #foreign = 0;
  readonly #byAction: Record<string, number> = {};
  readonly #byPolicy: Record<string, { packets: number; connections: number }> = {};
  readonly #wouldDeny: Record<string, number> = {};
  readonly #alerts: Record<string, number> = {};

  constructor(opts: FlowPipelineOptions) {
    this.#opts = opts;
    this.#enricher = new Enricher(opts.context);
    this.#now = opts.now ?? Date.now;
  }

  onPacket(p: PacketLog): FlowLog | undefined {
    this.#records++;
    const log = this.#enricher.enrich(p);
    if (!log) {
      this.#foreign++;
      return undefined;
    }
    const f = log.fields;
    this.#byAction[f.action] = (this.#byAction[f.action] ?? 0) + 1;
    this.#countPolicy(log, log.packets, log.connections);
    if (log.staged?.action === "deny") {
      for (const sp of log.staged.policies) this.#wouldDeny[sp] = (this.#wouldDeny[sp] ?? 0) + 1;
    }
    this.#opts.aggregator.add(log);
    this.#connections.opened(log);
    this.logs.publish(log);
    this.#raise(this.#opts.alerts.onLog(log));
    return log;
  }

  /** A connection ended: its packets and bytes go to the records of the logs that opened it. */
  onConnectionEnd(c: ConnectionEnd): void {
    for (const share of this.#connections.ended(c)) {
      this.#opts.aggregator.addCounts(share.log, c.time, share.packets, share.bytes);
      this.#countPolicy(share.log, share.packets, 0);
    }
  }

  #countPolicy({ fields: f }: FlowLog, packets: number, connections: number): void {
    const pk = `${f.tier}/${f.policy}/${f.rule}/${f.action}`;
    const c = this.#byPolicy[pk] ?? { packets: 0, connections: 0 };
    this.#byPolicy[pk] = c;
    c.packets += packets;
    c.connections += connections;
  }

  get sinks(): readonly AlertSink[] {
    return this.#opts.sinks;
  }

  /** Closes the intervals that ended by `now`, stores and streams their records. */
  flush(now = this.#now()): FlowRecord[] {
    const done = this.#opts.aggregator.flush(now);
    this.#opts.store?.add(done, now);
    for (const r of done) this.records.publish(r);
    this.#raise(this.#opts.alerts.tick(now));
    return done;
  }

  start(everyMs = 1000): void {
    this.#timer = setInterval(() => this.flush(), everyMs);
  }

  /** Stops the timer and flushes every open interval. */
  stop(): void {
    clearInterval(this.#timer);
    this.flush(Number.POSITIVE_INFINITY);
  }

  stats(): FlowStats {
    return {
      records: this.#records,
      foreign: this.#foreign,
      byAction: { ...this.#byAction },
      byPolicy: structuredClone(this.#byPolicy),
      wouldDeny: { ...this.#wouldDeny },
      alerts: { ...this.#alerts },
      aggregationOverflow: this.#opts.aggregator.overflow,
      connections: this.#connections.stats(),
      sinks: Object.fromEntries(this.#opts.sinks.map((s) => [s.name, s.stats?.() ?? {}])),
    };
  }

  #raise(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      this.#alerts[a.alert] = (this.#alerts[a.alert] ?? 0) + 1;
      for (const s of this.#opts.sinks) s.send(a);
    }
  }
}
