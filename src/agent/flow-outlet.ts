// Where a node's flow records and alerts go. Following an API server, they are shipped to it
// (`POST /api/v1/flows`, `POST /api/v1/alerts`) from bounded queues: `send` never waits, a
// server that is away gets everything on its return up to the bound, and what overflowed is
// counted, never blocking enforcement. In manifest mode (no server) they are written as JSON
// lines, `{"type":"flow",...}` and `{"type":"alert",...}`, to a file or stdout.
import { appendFileSync } from "node:fs";
import {
  type Alert,
  DeliveryQueue,
  type FlowRecord,
  MAX_ALERTS_PER_POST,
  MAX_RECORDS_PER_POST,
} from "../flows/index.ts";
import type { BackoffOptions } from "../util/backoff.ts";
import type { ShippingStatus } from "./status.ts";

export interface FlowOutlet {
  records(records: readonly FlowRecord[]): void;
  alert(alert: Alert): void;
  status(): ShippingStatus;
  stop(): void;
}

/** What ships to the API server: ApiClient's postFlows and postAlerts. */
export interface FlowReceiver {
  postFlows(node: string, records: readonly FlowRecord[]): Promise<unknown>;
  postAlerts(node: string, alerts: readonly Alert[]): Promise<unknown>;
}

export interface ApiOutletOptions {
  readonly node: string;
  readonly receiver: FlowReceiver;
  /** Records and alerts held at most while the server is away; 50,000 and 10,000. */
  readonly capacity?: { readonly records: number; readonly alerts: number };
  readonly backoffMs?: BackoffOptions;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class ApiOutlet implements FlowOutlet {
  readonly #records: DeliveryQueue<FlowRecord>;
  readonly #alerts: DeliveryQueue<Alert>;
  #lastError: string | undefined;

  constructor(opts: ApiOutletOptions) {
    const queue = <T>(
      capacity: number,
      batchSize: number,
      post: (batch: readonly T[]) => Promise<unknown>,
    ) =>
      new DeliveryQueue<T>({
        capacity,
        batchSize,
        deliver: async (batch) => {
          await post(batch);
          this.#lastError = undefined;
        },
        onError: (e) => {
          this.#lastError = message(e);
        },
        ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
      });
    this.#records = queue(
      opts.capacity?.records ?? 50_000,
      Math.min(1000, MAX_RECORDS_PER_POST),
      (b) => opts.receiver.postFlows(opts.node, b),
    );
    this.#alerts = queue(opts.capacity?.alerts ?? 10_000, Math.min(100, MAX_ALERTS_PER_POST), (b) =>
      opts.receiver.postAlerts(opts.node, b),
    );
  }

  records(records: readonly FlowRecord[]): void {
    for (const r of records) this.#records.push(r);
  }

  alert(alert: Alert): void {
    this.#alerts.push(alert);
  }

  status(): ShippingStatus {
    const r = this.#records.stats();
    const a = this.#alerts.stats();
    return {
      to: "api",
      records: { sent: r.delivered, queued: r.queued, dropped: r.dropped },
      alerts: { sent: a.delivered, queued: a.queued, dropped: a.dropped },
      failures: r.failures + a.failures,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  stop(): void {
    this.#records.stop();
    this.#alerts.stop();
  }
}

/** JSON lines to a file (appended) or, for `-`, stdout. */
export class FileOutlet implements FlowOutlet {
  readonly #write: (line: string) => void;
  #records = 0;
  #alerts = 0;
  #droppedRecords = 0;
  #droppedAlerts = 0;
  #failures = 0;
  #lastError: string | undefined;

  constructor(path: string) {
    this.#write =
      path === "-" ? (line) => process.stdout.write(line) : (line) => appendFileSync(path, line);
  }

  records(records: readonly FlowRecord[]): void {
    if (records.length === 0) return;
    const text = records.map((r) => `${JSON.stringify({ type: "flow", ...r })}\n`).join("");
    if (this.#put(text)) this.#records += records.length;
    else this.#droppedRecords += records.length;
  }

  alert(alert: Alert): void {
    if (this.#put(`${JSON.stringify({ type: "alert", ...alert })}\n`)) this.#alerts++;
    else this.#droppedAlerts++;
  }

  #put(text: string): boolean {
    try {
      this.#write(text);
      return true;
    } catch (e) {
      // A full disk must not stop enforcement; the status says so.
      this.#failures++;
      this.#lastError = message(e);
      return false;
    }
  }

  status(): ShippingStatus {
    return {
      to: "file",
      records: { sent: this.#records, queued: 0, dropped: this.#droppedRecords },
      alerts: { sent: this.#alerts, queued: 0, dropped: this.#droppedAlerts },
      failures: this.#failures,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  stop(): void {}
}
