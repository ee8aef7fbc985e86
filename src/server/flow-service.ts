// The server's side of flows: what agents ship is stored (records and alerts in one SQLite file
// next to the datastore, `flows.db`), alerts go on to the configured sinks (webhook,
// Alertmanager, JSON lines) without waiting for them, and the counts become metrics. The server
// keeps no per-node state beyond what agents sent; agents enrich, aggregate and evaluate alerts.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Counter, Gauge, type Registry } from "prom-client";
import {
  type Alert,
  type AlertSink,
  AlertStore,
  type AlertStoreOptions,
  type FlowRecord,
  FlowStore,
  type FlowStoreOptions,
  type StoredAlert,
  type StoredFlowRecord,
  severityLabel,
} from "../flows/index.ts";

export interface FlowServiceOptions {
  /** The flow store's file; ":memory:" (nothing kept across restarts) when unset. */
  readonly file?: string;
  readonly records?: FlowStoreOptions;
  readonly alerts?: AlertStoreOptions;
  /** Where alerts go besides the API's stream; each sink's send returns at once. */
  readonly sinks?: readonly AlertSink[];
  /** Comment lines on open event streams this often; 15 s by default. */
  readonly heartbeatMs?: number;
}

export class FlowService {
  readonly records: FlowStore;
  readonly alerts: AlertStore;
  readonly sinks: readonly AlertSink[];
  readonly heartbeatMs: number;
  readonly #db: Database.Database;
  readonly #metrics: ReturnType<typeof flowMetrics>;

  constructor(opts: FlowServiceOptions, registry: Registry) {
    const file = opts.file ?? ":memory:";
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.records = new FlowStore(this.#db, opts.records);
    this.alerts = new AlertStore(this.#db, opts.alerts);
    this.sinks = opts.sinks ?? [];
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.#metrics = flowMetrics(registry, this.sinks);
  }

  /** Stores one node's records and counts them per policy and rule. */
  ingestFlows(node: string, records: readonly FlowRecord[], dropped = 0): StoredFlowRecord[] {
    const stored = this.records.add(records, Date.now(), node);
    const m = this.#metrics;
    m.received.inc({ node }, records.length);
    if (dropped > 0) m.lost.inc({ node, kind: "records" }, dropped);
    for (const r of records) {
      const labels = {
        policy: r.fields.policy,
        tier: r.fields.tier,
        rule: r.fields.rule,
        action: r.fields.action,
        reporter: r.fields.reporter,
      };
      m.packets.inc(labels, r.packets);
      m.connections.inc(labels, r.connections);
    }
    return stored;
  }

  /** Stores one node's alerts, then hands each to every sink (none of which waits). */
  ingestAlerts(node: string, alerts: readonly Alert[], dropped = 0): StoredAlert[] {
    const stored = this.alerts.add(alerts, node);
    if (dropped > 0) this.#metrics.lost.inc({ node, kind: "alerts" }, dropped);
    for (const a of stored) {
      this.#metrics.alerts.inc({ alert: a.alert, severity: severityLabel(a.severity) });
      for (const sink of this.sinks) sink.send(a);
    }
    return stored;
  }

  close(): void {
    for (const sink of this.sinks) sink.stop?.();
    this.#db.close();
  }
}

function flowMetrics(registry: Registry, sinks: readonly AlertSink[]) {
  const registers = [registry];
  const ruleLabels = ["policy", "tier", "rule", "action", "reporter"] as const;
  const sinkGauge = (name: string, help: string, field: "delivered" | "dropped" | "queued") =>
    new Gauge({
      name,
      help,
      labelNames: ["sink"],
      registers,
      collect() {
        this.reset();
        for (const s of sinks) {
          const stats = s.stats?.();
          if (stats) this.set({ sink: s.name }, stats[field]);
        }
      },
    });
  sinkGauge("microseg_alert_sink_delivered", "Alerts a sink delivered", "delivered");
  sinkGauge(
    "microseg_alert_sink_dropped",
    "Alerts a sink dropped (queue full while its receiver was away)",
    "dropped",
  );
  sinkGauge("microseg_alert_sink_queued", "Alerts waiting for a sink's receiver", "queued");
  return {
    received: new Counter({
      name: "microseg_flow_records_received_total",
      help: "Flow records agents shipped, by node",
      labelNames: ["node"],
      registers,
    }),
    lost: new Counter({
      name: "microseg_flow_lost_total",
      help: "Flow records or alerts an agent dropped before it could ship them (its buffer was full), by node",
      labelNames: ["node", "kind"],
      registers,
    }),
    packets: new Counter({
      name: "microseg_flow_packets_total",
      help: "Packets in shipped flow records, by deciding policy, tier, rule, action and reporter",
      labelNames: ruleLabels,
      registers,
    }),
    connections: new Counter({
      name: "microseg_flow_connections_total",
      help: "Connections in shipped flow records, by deciding policy, tier, rule, action and reporter",
      labelNames: ruleLabels,
      registers,
    }),
    alerts: new Counter({
      name: "microseg_alerts_total",
      help: "Alerts raised, by alert and severity (critical >= 80, warning >= 50, else info)",
      labelNames: ["alert", "severity"],
      registers,
    }),
  };
}
