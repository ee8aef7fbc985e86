// Everything flows does on one node, in one object the agent (and later `microseg up`) owns:
// feed it the resource events the engine gets, start it, read health and stats for the
// agent's status. Capture is optional, so the same wiring runs on recorded lines in tests.
import { type GlobalAlert, GlobalAlertSchema, type ResourceEvent } from "../model/index.ts";
import { Aggregator, type AggregatorOptions } from "./aggregate.ts";
import { AlertEvaluator } from "./alerts.ts";
import { type CaptureHealth, FlowCapture } from "./capture.ts";
import { FlowContext } from "./flow-context.ts";
import { FlowStore, type FlowStoreOptions } from "./flow-store.ts";
import { FlowPipeline, type FlowStats } from "./pipeline.ts";
import { type AlertSink, StreamSink } from "./sinks/sinks.ts";
import type { SupervisorLog } from "./ulogd-supervisor.ts";

export interface NodeFlowsOptions {
  /** Capture with ulogd2: its state dir, the node's netns and the NFLOG groups to read. */
  readonly capture?: {
    readonly dir: string;
    readonly netns?: string;
    readonly groups: readonly number[];
    /** Connection byte and packet counts from conntrack (ulogd2's NFCT input). */
    readonly conntrack?: boolean;
    /** How often ulogd2's output is read; 20 ms by default. */
    readonly pollMs?: number;
  };
  /** The flow store's file (or ":memory:"); no store when unset. */
  readonly storeFile?: string;
  readonly store?: FlowStoreOptions;
  readonly aggregation?: AggregatorOptions;
  /** The built-in denied-connection alert; on unless false. */
  readonly defaultAlert?: boolean;
  /** Sinks besides the in-process alert stream. */
  readonly sinks?: readonly AlertSink[];
  readonly log?: SupervisorLog;
}

export interface NodeFlowsHealth {
  readonly capture?: CaptureHealth;
  readonly stats: FlowStats;
  readonly storedRecords?: number;
}

export class NodeFlows {
  readonly context = new FlowContext();
  readonly alertStream = new StreamSink();
  readonly pipeline: FlowPipeline;
  readonly store: FlowStore | undefined;
  readonly capture: FlowCapture | undefined;
  readonly #alerts: AlertEvaluator;
  readonly #log: SupervisorLog | undefined;

  constructor(opts: NodeFlowsOptions) {
    this.#log = opts.log;
    this.#alerts = new AlertEvaluator([], { defaultAlert: opts.defaultAlert ?? true });
    this.store = opts.storeFile ? new FlowStore(opts.storeFile, opts.store) : undefined;
    this.pipeline = new FlowPipeline({
      context: this.context,
      aggregator: new Aggregator(opts.aggregation),
      alerts: this.#alerts,
      sinks: [this.alertStream, ...(opts.sinks ?? [])],
      ...(this.store ? { store: this.store } : {}),
    });
    this.capture = opts.capture
      ? new FlowCapture({
          ...opts.capture,
          ...(opts.log ? { log: opts.log } : {}),
          onPacket: (p) => this.pipeline.onPacket(p),
          onConnectionEnd: (c) => this.pipeline.onConnectionEnd(c),
        })
      : undefined;
  }

  /** The same events the engine gets, stamped now; GlobalAlerts among them become the alert set. */
  apply(events: readonly ResourceEvent[], time = Date.now()): void {
    if (!this.context.apply(events, time).has("GlobalAlert")) return;
    const alerts: GlobalAlert[] = [];
    for (const r of this.context.resourcesOfKind("GlobalAlert")) {
      const parsed = GlobalAlertSchema.safeParse(r);
      if (parsed.success) alerts.push(parsed.data);
      else {
        // The datastore rejects such objects; one slipping through must not stop the others.
        const issue = parsed.error.issues[0]!;
        this.#log?.warn("GlobalAlert ignored", {
          alert: r.metadata.name,
          field: issue.path.join("."),
          error: issue.message,
        });
      }
    }
    this.#alerts.setAlerts(alerts);
  }

  async start(): Promise<void> {
    await this.capture?.start();
    this.pipeline.start();
  }

  async stop(): Promise<void> {
    await this.capture?.stop();
    this.pipeline.stop();
    for (const s of this.pipeline.sinks) s.stop?.();
    this.store?.close();
  }

  health(): NodeFlowsHealth {
    return {
      ...(this.capture ? { capture: this.capture.health() } : {}),
      stats: this.pipeline.stats(),
      ...(this.store ? { storedRecords: this.store.size } : {}),
    };
  }
}
