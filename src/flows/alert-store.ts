// Alerts in SQLite next to the flow records (the same file): each with the node that raised it,
// a row id (the order they arrived in, where a live stream resumes), and when someone
// acknowledged it. Retention by age and count, as the flow store; a live stream of arrivals.
import Database from "better-sqlite3";
import { selectorMatches, tryParseSelector } from "../selector/index.ts";
import { type Alert, alertTraffic } from "./alerts.ts";
import { FlowQueryError } from "./flow-store.ts";
import { LiveStream } from "./stream.ts";
import type { StoredAlert } from "./wire.ts";

export interface AlertStoreOptions {
  /** Alerts older than this are deleted; 7 days by default. */
  readonly maxAgeMs?: number;
  /** The oldest alerts beyond this many are deleted; 100,000 by default. */
  readonly maxAlerts?: number;
}

export interface AlertQuery {
  /** Alerts raised at or after this (ms since the epoch). */
  readonly since?: number;
  readonly until?: number;
  /** At most this many, newest last; 1,000 by default. */
  readonly limit?: number;
  /** Only alerts stored after this id, oldest first. */
  readonly afterId?: number;
  /** Only these (`false`: not acknowledged yet). */
  readonly acknowledged?: boolean;
  /** A selector over the alert's fields (see alertMatches). */
  readonly selector?: string;
}

interface Row {
  id: number;
  node: string;
  alert: string;
  acknowledged_ms: number | null;
}

const toStored = (row: Row): StoredAlert => ({
  ...(JSON.parse(row.alert) as Alert),
  id: row.id,
  node: row.node,
  ...(row.acknowledged_ms !== null
    ? { acknowledgedAt: new Date(row.acknowledged_ms).toISOString() }
    : {}),
});

export class AlertStore {
  readonly live = new LiveStream<StoredAlert>();
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #maxAgeMs: number;
  readonly #maxAlerts: number;
  readonly #insert: Database.Statement;
  readonly #inTx: (alerts: readonly Alert[], node: string) => StoredAlert[];

  constructor(file: string | Database.Database, opts: AlertStoreOptions = {}) {
    this.#owned = typeof file === "string";
    this.#db = typeof file === "string" ? new Database(file) : file;
    if (this.#owned) this.#db.pragma("journal_mode = WAL");
    this.#maxAgeMs = opts.maxAgeMs ?? 7 * 24 * 3600_000;
    this.#maxAlerts = opts.maxAlerts ?? 100_000;
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        node TEXT NOT NULL,
        alert TEXT NOT NULL,
        acknowledged_ms INTEGER
      );
      CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time_ms);
    `);
    this.#insert = this.#db.prepare("INSERT INTO alerts (time_ms, node, alert) VALUES (?, ?, ?)");
    this.#inTx = this.#db.transaction((alerts: readonly Alert[], node: string) =>
      alerts.map(
        (a): StoredAlert => ({
          ...a,
          id: Number(this.#insert.run(Date.parse(a.time), node, JSON.stringify(a)).lastInsertRowid),
          node,
        }),
      ),
    );
  }

  /** Stores the alerts of one node in one transaction, applies retention, streams them. */
  add(alerts: readonly Alert[], node: string, now = Date.now()): StoredAlert[] {
    if (alerts.length === 0) return [];
    const stored = this.#inTx(alerts, node);
    this.#db.prepare("DELETE FROM alerts WHERE time_ms < ?").run(now - this.#maxAgeMs);
    this.#db
      .prepare("DELETE FROM alerts WHERE id <= (SELECT MAX(id) FROM alerts) - ?")
      .run(this.#maxAlerts);
    for (const a of stored) this.live.publish(a);
    return stored;
  }

  query(q: AlertQuery = {}): StoredAlert[] {
    const limit = q.limit ?? 1000;
    if (!Number.isInteger(limit) || limit <= 0)
      throw new FlowQueryError("limit", "must be a positive integer");
    const forward = q.afterId !== undefined;
    const ack =
      q.acknowledged === undefined
        ? ""
        : q.acknowledged
          ? " AND acknowledged_ms IS NOT NULL"
          : " AND acknowledged_ms IS NULL";
    if (q.selector !== undefined) {
      const parsed = tryParseSelector(q.selector);
      if (!parsed.ok) throw new FlowQueryError("selector", parsed.error.message);
    }
    const rows = this.#db
      .prepare(
        `SELECT id, node, alert, acknowledged_ms FROM alerts WHERE time_ms >= ? AND time_ms < ? AND id > ?${ack} ORDER BY id ${forward ? "ASC" : "DESC"}`,
      )
      .iterate(
        q.since ?? Number.MIN_SAFE_INTEGER,
        q.until ?? Number.MAX_SAFE_INTEGER,
        q.afterId ?? 0,
      ) as Iterable<Row>;
    const out: StoredAlert[] = [];
    for (const row of rows) {
      const a = toStored(row);
      if (q.selector && !alertMatches(q.selector, a)) continue;
      out.push(a);
      if (out.length >= limit) break;
    }
    return forward ? out : out.reverse();
  }

  get(id: number): StoredAlert | undefined {
    const row = this.#db
      .prepare("SELECT id, node, alert, acknowledged_ms FROM alerts WHERE id = ?")
      .get(id) as Row | undefined;
    return row ? toStored(row) : undefined;
  }

  /** Marks an alert acknowledged (the first time counts); undefined when there is no such alert. */
  acknowledge(id: number, now = Date.now()): StoredAlert | undefined {
    this.#db
      .prepare("UPDATE alerts SET acknowledged_ms = ? WHERE id = ? AND acknowledged_ms IS NULL")
      .run(now, id);
    return this.get(id);
  }

  get size(): number {
    return (this.#db.prepare("SELECT COUNT(*) AS n FROM alerts").get() as { n: number }).n;
  }

  close(): void {
    if (this.#owned) this.#db.close();
  }
}

/**
 * Whether an alert matches a selector (parsed already) over its flow fields (`fields`: the flow's
 * fields and labels, or the GlobalAlert's aggregateBy fields) and its own: alert, severity,
 * source, destination, port, protocol, policy, action, node.
 */
export function alertMatches(selector: string, a: Alert & { node?: string }): boolean {
  return selectorMatches(selector, {
    ...a.fields,
    alert: a.alert,
    severity: String(a.severity),
    ...alertTraffic(a),
    ...(a.node !== undefined ? { node: a.node } : {}),
  });
}
