// Where alerts go. Every sink's `send` returns at once; slow receivers sit behind a
// DeliveryQueue. In-process stream (for the API), stdout JSON lines, webhooks, Alertmanager.
import { type Alert, alertTraffic } from "../alerts.ts";
import { LiveStream } from "../stream.ts";
import { DeliveryQueue, type DeliveryQueueOptions, type DeliveryStats } from "./delivery-queue.ts";

export interface AlertSink {
  readonly name: string;
  send(alert: Alert): void;
  stats?(): DeliveryStats;
  stop?(): void;
}

/** The API's alert stream. */
export class StreamSink implements AlertSink {
  readonly name = "stream";
  readonly stream = new LiveStream<Alert>();
  send(alert: Alert): void {
    this.stream.publish(alert);
  }
}

/** One JSON object per line. */
export class JsonLinesSink implements AlertSink {
  readonly name = "stdout";
  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(l)) {}
  send(alert: Alert): void {
    this.write(`${JSON.stringify(alert)}\n`);
  }
}

type QueueTuning = Omit<DeliveryQueueOptions<Alert>, "deliver" | "batchSize">;

export interface HttpSinkOptions extends QueueTuning {
  readonly url: string;
  /** Per request; 5 s by default. */
  readonly timeoutMs?: number;
}

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status}`);
}

abstract class QueuedSink implements AlertSink {
  abstract readonly name: string;
  readonly #queue: DeliveryQueue<Alert>;
  constructor(
    opts: QueueTuning,
    batchSize: number,
    deliver: (batch: readonly Alert[]) => Promise<void>,
  ) {
    this.#queue = new DeliveryQueue({ ...opts, batchSize, deliver });
  }
  send(alert: Alert): void {
    this.#queue.push(alert);
  }
  stats(): DeliveryStats {
    return this.#queue.stats();
  }
  stop(): void {
    this.#queue.stop();
  }
}

/** POSTs each alert as JSON to a URL. */
export class WebhookSink extends QueuedSink {
  readonly name: string;
  constructor(opts: HttpSinkOptions) {
    super(opts, 1, (batch) => postJson(opts.url, batch[0], opts.timeoutMs ?? 5000));
    this.name = `webhook ${opts.url}`;
  }
}

/** Calico's 1-100 severity as Alertmanager's customary severity label. */
export function severityLabel(severity: number): "critical" | "warning" | "info" {
  return severity >= 80 ? "critical" : severity >= 50 ? "warning" : "info";
}

/** Alertmanager's v2 API: `POST /api/v2/alerts` with a list of alerts. */
export class AlertmanagerSink extends QueuedSink {
  readonly name: string;
  constructor(opts: HttpSinkOptions) {
    const url = `${opts.url.replace(/\/+$/, "")}/api/v2/alerts`;
    super(opts, 64, (batch) => postJson(url, batch.map(toAlertmanager), opts.timeoutMs ?? 5000));
    this.name = `alertmanager ${opts.url}`;
  }
}

export function toAlertmanager(a: Alert) {
  return {
    labels: {
      alertname: a.alert,
      severity: severityLabel(a.severity),
      ...alertTraffic(a),
    },
    annotations: {
      summary: a.summary,
      description: a.description,
      reason: a.reason,
      count: String(a.count),
      severity: String(a.severity),
    },
    startsAt: a.time,
  };
}
