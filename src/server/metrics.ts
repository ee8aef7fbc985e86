// Prometheus metrics (prom-client), one registry per server so several servers in one process
// (tests, `microseg up`) never share counters. The store revision and agent gauges are read
// when scraped, so they are never stale.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Datastore } from "../datastore/index.ts";
import type { AgentRegistry } from "./agents.ts";

export interface ServerMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<"verb" | "resource" | "code">;
  readonly watchers: Gauge;
  readonly watchEvents: Counter<"type">;
  readonly watchBytes: Counter;
  readonly watchHeld: Counter;
}

export function createMetrics(store: Datastore, agents: AgentRegistry): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "microseg_server_" });
  const requestDuration = new Histogram({
    name: "microseg_api_request_duration_seconds",
    help: "API request latency by verb (list, get, create, ...), resource plural and HTTP code",
    labelNames: ["verb", "resource", "code"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const watchers = new Gauge({
    name: "microseg_api_watchers",
    help: "Open watch streams",
    registers: [registry],
  });
  const watchEvents = new Counter({
    name: "microseg_api_watch_events_total",
    help: "Events written to watch streams, by type",
    labelNames: ["type"],
    registers: [registry],
  });
  const watchBytes = new Counter({
    name: "microseg_api_watch_bytes_total",
    help: "Bytes of events written to watch streams",
    registers: [registry],
  });
  const watchHeld = new Counter({
    name: "microseg_api_watch_held_total",
    help: "Updates of other nodes' pods not sent to peersOf watchers: their peer view was unchanged",
    registers: [registry],
  });
  new Gauge({
    name: "microseg_store_revision",
    help: "The datastore's revision (its last write)",
    registers: [registry],
    async collect() {
      this.set(await store.revision());
    },
  });
  new Gauge({
    name: "microseg_agent_ready",
    help: "1 when the node's agent reports its first full sync done, 0 otherwise",
    labelNames: ["node"],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of agents.list()) this.set({ node: a.status.node }, a.status.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "microseg_agent_revision",
    help: "The store revision the node's agent enforces",
    labelNames: ["node"],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of agents.list()) this.set({ node: a.status.node }, a.status.revision);
    },
  });
  new Gauge({
    name: "microseg_agent_report_age_seconds",
    help: "Seconds since the node's agent last reported its status",
    labelNames: ["node"],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const a of agents.list()) this.set({ node: a.status.node }, (now - a.receivedAt) / 1000);
    },
  });
  return { registry, requestDuration, watchers, watchEvents, watchBytes, watchHeld };
}
