// Flow records in SQLite (better-sqlite3): the datastore's file or one of its own, WAL, with
// retention bounded by age and by count, queryable by time range and by a selector over flow
// fields, and a live stream of what is stored. Each record keeps the node that reported it and
// its row id, which orders records as stored (a live stream resumes after an id).
import Database from "better-sqlite3";
import { selectorMatches, tryParseSelector } from "../selector/index.ts";
import type { FlowRecord } from "./aggregate.ts";
import { selectorView } from "./flow-log.ts";
import { LiveStream } from "./stream.ts";
import type { StoredFlowRecord } from "./wire.ts";

export interface FlowStoreOptions {
  /** Records whose interval ended longer ago than this are deleted; 24 h by default. */
  readonly maxAgeMs?: number;
  /** The oldest records beyond this many are deleted; 1,000,000 by default. */
  readonly maxRecords?: number;
}

export interface FlowQuery {
  /** Intervals ending after this (ms since the epoch). */
  readonly since?: number;
  /** Intervals starting before this. */
  readonly until?: number;
  /** A selector over flow fields, `action == "deny" && source_labels.app == "web"`. */
  readonly selector?: string;
  /** At most this many, newest last; 1,000 by default. */
  readonly limit?: number;
  /** Only records stored after this id, oldest first (a stream's resume point). */
  readonly afterId?: number;
}

export class FlowQueryError extends Error {
  readonly code = "flows.bad-query";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`flow query: ${field}: ${message}`);
  }
}

type Db = Database.Database;

export class FlowStore {
  readonly live = new LiveStream<StoredFlowRecord>();
  readonly #db: Db;
  readonly #owned: boolean;
  readonly #maxAgeMs: number;
  readonly #maxRecords: number;
  #count: number;
  readonly #insert: Database.Statement;
  readonly #inTx: (records: readonly FlowRecord[], node: string) => StoredFlowRecord[];

  /** `file` is a path (":memory:" for none) or an open database to share (the datastore's). */
  constructor(file: string | Db, opts: FlowStoreOptions = {}) {
    this.#owned = typeof file === "string";
    this.#db = typeof file === "string" ? new Database(file) : file;
    if (this.#owned) this.#db.pragma("journal_mode = WAL");
    this.#maxAgeMs = opts.maxAgeMs ?? 24 * 3600_000;
    this.#maxRecords = opts.maxRecords ?? 1_000_000;
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS flow_records (
        id INTEGER PRIMARY KEY,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        node TEXT NOT NULL DEFAULT '',
        record TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS flow_records_end ON flow_records (end_ms);
    `);
    const columns = this.#db.prepare("PRAGMA table_info(flow_records)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "node")) {
      this.#db.exec("ALTER TABLE flow_records ADD COLUMN node TEXT NOT NULL DEFAULT ''");
    }
    this.#count = (
      this.#db.prepare("SELECT COUNT(*) AS n FROM flow_records").get() as { n: number }
    ).n;
    this.#insert = this.#db.prepare(
      "INSERT INTO flow_records (start_ms, end_ms, node, record) VALUES (?, ?, ?, ?)",
    );
    this.#inTx = this.#db.transaction((records: readonly FlowRecord[], node: string) =>
      records.map(
        (r): StoredFlowRecord => ({
          ...r,
          id: Number(this.#insert.run(r.start, r.end, node, JSON.stringify(r)).lastInsertRowid),
          node,
        }),
      ),
    );
  }

  /** Stores a batch of one node in one transaction, applies retention, then streams it live. */
  add(records: readonly FlowRecord[], now = Date.now(), node = ""): StoredFlowRecord[] {
    if (records.length === 0) return [];
    const stored = this.#inTx(records, node);
    this.#count += records.length;
    this.retain(now);
    for (const r of stored) this.live.publish(r);
    return stored;
  }

  retain(now = Date.now()): void {
    const aged = this.#db
      .prepare("DELETE FROM flow_records WHERE end_ms < ?")
      .run(now - this.#maxAgeMs);
    this.#count -= aged.changes;
    const excess = this.#count - this.#maxRecords;
    if (excess > 0) {
      const cut = this.#db
        .prepare(
          "DELETE FROM flow_records WHERE id IN (SELECT id FROM flow_records ORDER BY id LIMIT ?)",
        )
        .run(excess);
      this.#count -= cut.changes;
    }
  }

  query(q: FlowQuery = {}): StoredFlowRecord[] {
    const limit = q.limit ?? 1000;
    if (!Number.isInteger(limit) || limit <= 0)
      throw new FlowQueryError("limit", "must be a positive integer");
    if (q.selector !== undefined) {
      const parsed = tryParseSelector(q.selector);
      if (!parsed.ok) throw new FlowQueryError("selector", parsed.error.message);
    }
    if (q.afterId !== undefined && !Number.isInteger(q.afterId))
      throw new FlowQueryError("afterId", "must be an integer");
    const forward = q.afterId !== undefined;
    const rows = this.#db
      .prepare(
        `SELECT id, node, record FROM flow_records WHERE end_ms > ? AND start_ms < ? AND id > ? ORDER BY id ${forward ? "ASC" : "DESC"}`,
      )
      .iterate(
        q.since ?? Number.MIN_SAFE_INTEGER,
        q.until ?? Number.MAX_SAFE_INTEGER,
        q.afterId ?? 0,
      ) as Iterable<{ id: number; node: string; record: string }>;
    const out: StoredFlowRecord[] = [];
    for (const row of rows) {
      const r = JSON.parse(row.record) as FlowRecord;
      if (q.selector && !flowMatches(q.selector, r)) continue;
      out.push({ ...r, id: row.id, node: row.node });
      if (out.length >= limit) break;
    }
    return forward ? out : out.reverse();
  }

  get size(): number {
    return this.#count;
  }

  close(): void {
    if (this.#owned) this.#db.close();
  }
}

/** Whether a record matches a selector over flow fields (the selector parsed already). */
export function flowMatches(selector: string, r: FlowRecord): boolean {
  return selectorMatches(selector, selectorView(r.fields, r.sourceLabels, r.destLabels));
}
