// The agent's flow logs: a NodeFlows (src/flows) capturing in the node's netns with ulogd2, fed
// the same resource events as the engine, its closed flow records and its alerts handed to an
// outlet (the API server, or JSON lines), and its health for the agent's status. Capture that
// cannot start (ulogd2 missing, or failing) never stops enforcement: the status says why.
import { spawnSync } from "node:child_process";
import { type FlowRecord, findUlogdPlugins, NodeFlows, type UlogdHealth } from "../flows/index.ts";
import type { ResourceEvent } from "../model/index.ts";
import type { FlowOutlet } from "./flow-outlet.ts";
import type { Logger } from "./logger.ts";
import type { FlowsStatus } from "./status.ts";

/** The flows side of an agent, as the agent drives it. */
export interface AgentFlowsPart {
  apply(events: readonly ResourceEvent[]): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): FlowsStatus;
}

/** Why this machine cannot capture flows, or undefined when it can. */
export function flowsUnavailable(): string | undefined {
  const ulogd = spawnSync("sh", ["-c", "command -v ulogd"], { stdio: "ignore" });
  if (ulogd.status !== 0 || !findUlogdPlugins()) {
    return "ulogd2 is not installed (Debian's ulogd2 and ulogd2-json): no flow logs on this node";
  }
  return undefined;
}

/** ulogd2's health as the status carries it (its loss reports are counted beside it). */
function ulogdStatus({ lossReports: _, ...health }: UlogdHealth): FlowsStatus["ulogd"] {
  return health;
}

const idle = (): Omit<FlowsStatus, "enabled"> => ({
  records: 0,
  badRecords: 0,
  lossReports: 0,
  byAction: {},
  alerts: {},
  wouldDeny: {},
});

/** Flows turned off (`--no-flows`, no ulogd2): the status says so plainly. */
export class DisabledFlows implements AgentFlowsPart {
  constructor(readonly reason: string) {}
  apply(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  status(): FlowsStatus {
    return { enabled: false, reason: this.reason, ...idle() };
  }
}

export interface AgentFlowsOptions {
  /** ulogd2's state dir (config, output, its log). */
  readonly dir: string;
  /** The node's network namespace, when the agent runs outside it. */
  readonly netns?: string;
  /** NFLOG groups: Log and Deny rules', and allowed connections'. */
  readonly groups: readonly number[];
  /** Allowed connections are logged 1 in `sample`. */
  readonly sample: number;
  readonly outlet: FlowOutlet;
  /** Flow record interval; 15 s by default. */
  readonly intervalMs?: number;
  readonly log: Logger;
}

export class AgentFlows implements AgentFlowsPart {
  readonly node: NodeFlows;
  readonly #opts: AgentFlowsOptions;
  /** Records of one flush, handed on together. */
  #pending: FlowRecord[] = [];
  #failure: string | undefined;

  constructor(opts: AgentFlowsOptions) {
    this.#opts = opts;
    this.node = new NodeFlows({
      capture: {
        dir: opts.dir,
        groups: opts.groups,
        conntrack: true,
        ...(opts.netns ? { netns: opts.netns } : {}),
      },
      ...(opts.intervalMs ? { aggregation: { intervalMs: opts.intervalMs } } : {}),
      log: opts.log,
    });
    this.node.pipeline.records.subscribe((r) => {
      if (this.#pending.length === 0) queueMicrotask(() => this.#handOn());
      this.#pending.push(r);
    });
    this.node.alertStream.stream.subscribe((a) => opts.outlet.alert(a));
  }

  apply(events: readonly ResourceEvent[]): void {
    this.node.apply(events);
  }

  /** Starts capture; a failure is logged and reported, enforcement goes on without it. */
  async start(): Promise<void> {
    try {
      await this.node.start();
    } catch (e) {
      this.#failure = `flow capture failed to start: ${e instanceof Error ? e.message : String(e)}`;
      this.#opts.log.error("flow capture failed to start; enforcing without flow logs", {
        error: e,
      });
    }
  }

  async stop(): Promise<void> {
    await this.node.stop();
    this.#handOn();
    this.#opts.outlet.stop();
  }

  status(): FlowsStatus {
    const { capture, stats } = this.node.health();
    return {
      enabled: this.#failure === undefined,
      ...(this.#failure ? { reason: this.#failure } : {}),
      sample: this.#opts.sample,
      ...(capture ? { ulogd: ulogdStatus(capture.ulogd) } : {}),
      records: capture?.records ?? 0,
      badRecords: capture?.badRecords ?? 0,
      connectionEnds: capture?.connectionEnds ?? 0,
      connectionsCounted: stats.connections.attributed,
      lossReports: capture?.ulogd.lossReports ?? 0,
      byAction: { ...stats.byAction },
      alerts: { ...stats.alerts },
      wouldDeny: { ...stats.wouldDeny },
      shipping: this.#opts.outlet.status(),
    };
  }

  #handOn(): void {
    const records = this.#pending;
    this.#pending = [];
    if (records.length > 0) this.#opts.outlet.records(records);
  }
}
