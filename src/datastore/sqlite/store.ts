// The embedded store: one SQLite file (better-sqlite3), the current objects plus a revisioned
// change log, every write one IMMEDIATE transaction (it takes the write lock before reading, so
// compare-and-swap holds across connections and processes). See schema.ts for the file and
// watch-hub.ts for watches; the rules of a write are shared with every store (writes.ts,
// references.ts).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { type Resource, resourceKey } from "../../model/index.ts";
import { listFilter } from "../filters.ts";
import { describeObject, kindId, kindInfo, notFound, resolveRef } from "../kinds.ts";
import { builtinTierObjects, TIERED_KINDS } from "../references.ts";
import {
  type ApplyResult,
  type Datastore,
  DatastoreError,
  type ListOptions,
  type ListResult,
  type ObjectRef,
  type Preconditions,
  type StoredResource,
  type Watch,
  type WatchListener,
  type WatchOptions,
  type WriteInput,
} from "../types.ts";
import {
  applyObjects,
  deletedAt,
  deleteObject,
  incomingObject,
  incomingSet,
  type WriteMode,
  type WriteView,
  writeObject,
} from "../writes.ts";
import { configure, microsegKind, migrate } from "./schema.ts";
import { type ChangeRow, WatchHub } from "./watch-hub.ts";

export interface SqliteOptions {
  /** How long a writer waits for another connection's write lock; 5 s by default. */
  readonly busyTimeoutMs?: number;
  /** How often watches look for commits of other processes; 20 ms by default. */
  readonly pollMs?: number;
  /**
   * Change-log revisions kept; older ones are compacted after writes (a watch from them gets
   * ExpiredError and resyncs). 10,000 by default; 0 keeps everything.
   */
  readonly retainRevisions?: number;
}

interface ObjectRow {
  readonly body: string;
}

function decode(row: ObjectRow): StoredResource {
  return JSON.parse(row.body) as StoredResource;
}

function namespaceOf(r: Resource): string {
  return r.metadata.namespace ?? "";
}

/** The statements of one open file, prepared once. */
function prepare(db: Database.Database) {
  return {
    meta: db.prepare<[string], { value: number }>("SELECT value FROM meta WHERE name = ?"),
    setMeta: db.prepare<[number, string]>("UPDATE meta SET value = ? WHERE name = ?"),
    get: db.prepare<[string], ObjectRow>("SELECT body FROM objects WHERE key = ?"),
    put: db.prepare<[string, string, string, string, string]>(
      "INSERT INTO objects (key, kind, namespace, name, body) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET body = excluded.body",
    ),
    remove: db.prepare<[string]>("DELETE FROM objects WHERE key = ?"),
    listKind: db.prepare<[string], ObjectRow>(
      "SELECT body FROM objects WHERE kind = ? ORDER BY namespace, name",
    ),
    listKindNs: db.prepare<[string, string], ObjectRow>(
      "SELECT body FROM objects WHERE kind = ? AND namespace = ? ORDER BY name",
    ),
    all: db.prepare<[], ObjectRow>("SELECT body FROM objects ORDER BY kind, namespace, name"),
    policyInTier: db.prepare<string[], { kind: string; namespace: string; name: string }>(
      `SELECT kind, namespace, name FROM objects WHERE kind IN (${TIERED_KINDS.map(() => "?").join(", ")}) ` +
        "AND json_extract(body, '$.spec.tier') = ? ORDER BY kind, namespace, name LIMIT 1",
    ),
    log: db.prepare<[number, string, string, string, string]>(
      "INSERT INTO changes (revision, type, kind, namespace, body) VALUES (?, ?, ?, ?, ?)",
    ),
    changesAfter: db.prepare<[number], ChangeRow>(
      "SELECT revision, type, kind, namespace, body FROM changes WHERE revision > ? ORDER BY revision",
    ),
    compact: db.prepare<[number]>("DELETE FROM changes WHERE revision <= ?"),
  };
}

type Statements = ReturnType<typeof prepare>;

/**
 * One write transaction: reads see its own writes; every change is logged at its own revision,
 * consecutive from the store's next one, so every object version has a unique resourceVersion
 * (a watcher resuming from any event's revision misses nothing of a set applied together).
 */
class WriteTx implements WriteView {
  #count = 0;
  constructor(
    readonly stmts: Statements,
    readonly first: number,
  ) {}

  get changed(): boolean {
    return this.#count > 0;
  }

  /** The revision the next change gets. */
  get next(): number {
    return this.first + this.#count;
  }

  /** The revision of the last change, or the store's revision before the transaction. */
  get last(): number {
    return this.first + this.#count - 1;
  }

  get(key: string): StoredResource | undefined {
    const row = this.stmts.get.get(key);
    return row ? decode(row) : undefined;
  }

  put(object: StoredResource, type: "ADDED" | "MODIFIED"): void {
    const body = JSON.stringify(object);
    const kind = kindId(kindInfo(object));
    const ns = namespaceOf(object);
    this.stmts.put.run(resourceKey(object), kind, ns, object.metadata.name, body);
    this.stmts.log.run(this.next, type, kind, ns, body);
    this.#count++;
  }

  remove(stored: StoredResource): StoredResource {
    const gone = deletedAt(stored, this.next);
    this.stmts.remove.run(resourceKey(stored));
    const kind = kindId(kindInfo(stored));
    this.stmts.log.run(this.next, "DELETED", kind, namespaceOf(stored), JSON.stringify(gone));
    this.#count++;
    return gone;
  }

  hasTier(name: string): boolean {
    return this.stmts.get.get(`${microsegKind("Tier")}//${name}`) !== undefined;
  }

  policyInTier(name: string): string | undefined {
    const row = this.stmts.policyInTier.get(...TIERED_KINDS.map(microsegKind), name);
    if (!row) return undefined;
    const kind = row.kind.slice(row.kind.indexOf("/") + 1);
    return describeObject({
      kind,
      metadata: { name: row.name, ...(row.namespace ? { namespace: row.namespace } : {}) },
    });
  }
}

function unavailable(e: unknown): never {
  if (e instanceof DatastoreError) throw e;
  if (e instanceof Database.SqliteError || (e instanceof TypeError && /not open/.test(e.message))) {
    throw new DatastoreError("Unavailable", `sqlite: ${e.message}`);
  }
  throw e;
}

export class SqliteDatastore implements Datastore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #stmts: Statements;
  readonly #hub: WatchHub;
  readonly #retain: number;
  #writesSinceCompaction = 0;
  #closed = false;

  private constructor(path: string, db: Database.Database, opts: SqliteOptions) {
    this.path = path;
    this.#db = db;
    this.#stmts = prepare(db);
    this.#retain = opts.retainRevisions ?? 10_000;
    const stmts = this.#stmts;
    const read = db.transaction((after: number) => ({
      rows: stmts.changesAfter.all(after),
      revision: stmts.meta.get("revision")!.value,
      compacted: stmts.meta.get("compacted")!.value,
    }));
    this.#hub = new WatchHub(
      {
        read: (after) => read.deferred(after),
        dataVersion: () => db.pragma("data_version", { simple: true }) as number,
      },
      opts.pollMs ?? 20,
    );
  }

  /** Opens (creating when missing) the store file at `path`; `:memory:` for a private store. */
  static open(path: string, opts: SqliteOptions = {}): SqliteDatastore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      configure(db, opts.busyTimeoutMs ?? 5_000);
      const conn = db;
      const init = conn.transaction(() => {
        if (!migrate(conn)) return;
        const stmts = prepare(conn);
        const tx = new WriteTx(stmts, 1);
        for (const tier of builtinTierObjects()) writeObject(tx, "create", tier);
        stmts.setMeta.run(tx.last, "revision");
      });
      init.immediate();
      return new SqliteDatastore(path, conn, opts);
    } catch (e) {
      db?.close();
      return unavailable(e);
    }
  }

  get watchers(): number {
    return this.#hub.watchers;
  }

  async get(ref: ObjectRef): Promise<StoredResource> {
    const r = resolveRef(ref);
    const row = this.#run(() => this.#stmts.get.get(r.key));
    if (!row) {
      throw notFound(r);
    }
    return decode(row);
  }

  async list(opts: ListOptions): Promise<ListResult> {
    const info = kindInfo(opts.kind);
    const filter = listFilter(opts);
    const kind = kindId(info);
    const ns = info.namespaced ? opts.namespace : undefined;
    const read = this.#db.transaction(() => ({
      rows:
        ns === undefined ? this.#stmts.listKind.all(kind) : this.#stmts.listKindNs.all(kind, ns),
      revision: this.#stmts.meta.get("revision")!.value,
    }));
    const { rows, revision } = this.#run(() => read.deferred());
    return { items: rows.map(decode).filter(filter), revision };
  }

  async create(resource: WriteInput): Promise<StoredResource> {
    return this.#writeOne("create", resource);
  }

  async update(resource: WriteInput): Promise<StoredResource> {
    return this.#writeOne("update", resource);
  }

  async delete(ref: ObjectRef, preconditions: Preconditions = {}): Promise<StoredResource> {
    const r = resolveRef(ref);
    return this.#write((tx) => deleteObject(tx, r, preconditions));
  }

  async apply(resources: readonly WriteInput[]): Promise<ApplyResult> {
    const set = incomingSet(resources);
    return this.#write((tx) => applyObjects(tx, set));
  }

  async snapshot(): Promise<{
    readonly items: readonly StoredResource[];
    readonly revision: number;
  }> {
    const read = this.#db.transaction(() => ({
      items: this.#stmts.all.all().map(decode),
      revision: this.#stmts.meta.get("revision")!.value,
    }));
    return this.#run(() => read.deferred());
  }

  /** Never throws: every failure, a bad kind included, reaches `listener.onError`. */
  watch(opts: WatchOptions, listener: WatchListener): Watch {
    try {
      if (!Number.isSafeInteger(opts.fromRevision) || opts.fromRevision < 0) {
        throw new DatastoreError(
          "Invalid",
          `watch: fromRevision ${opts.fromRevision} is not a revision`,
          [
            {
              code: "manifest.field",
              path: "resourceVersion",
              message: "must be a non-negative integer",
            },
          ],
        );
      }
      const kind = opts.kind ? kindId(kindInfo(opts.kind)) : undefined;
      const filter = {
        ...(kind !== undefined ? { kind } : {}),
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      };
      return this.#run(() => this.#hub.watch(opts, filter, listener));
    } catch (e) {
      const error = e instanceof DatastoreError ? e : new DatastoreError("Unavailable", String(e));
      queueMicrotask(() => listener.onError(error));
      return { stop() {} };
    }
  }

  async revision(): Promise<number> {
    return this.#run(() => this.#stmts.meta.get("revision")!.value);
  }

  async compact(revision: number): Promise<void> {
    this.#run(() => this.#compact(revision));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.close();
    this.#db.close();
  }

  #compact(revision: number): void {
    const run = this.#db.transaction(() => {
      const current = this.#stmts.meta.get("revision")!.value;
      const compacted = this.#stmts.meta.get("compacted")!.value;
      const upTo = Math.min(Math.floor(revision), current);
      if (upTo <= compacted) return;
      this.#stmts.compact.run(upTo);
      this.#stmts.setMeta.run(upTo, "compacted");
    });
    run.immediate();
  }

  async #writeOne(mode: WriteMode, resource: WriteInput): Promise<StoredResource> {
    const incoming = incomingObject(resource);
    return this.#write((tx) => writeObject(tx, mode, incoming));
  }

  /** Runs `body` in one IMMEDIATE transaction; nothing stays if it throws. */
  #write<T>(body: (tx: WriteTx) => T): T {
    const run = this.#db.transaction(() => {
      const tx = new WriteTx(this.#stmts, this.#stmts.meta.get("revision")!.value + 1);
      const result = body(tx);
      if (tx.changed) this.#stmts.setMeta.run(tx.last, "revision");
      return { result, changed: tx.changed, revision: tx.last };
    });
    const out = this.#run(() => run.immediate());
    if (out.changed) {
      this.#hub.poll();
      // Compaction is checked every 100 writes of this connection, so its cost is amortized.
      if (this.#retain > 0 && ++this.#writesSinceCompaction >= 100) {
        this.#writesSinceCompaction = 0;
        if (out.revision > this.#retain)
          this.#run(() => this.#compact(out.revision - this.#retain));
      }
    }
    return out.result;
  }

  #run<T>(fn: () => T): T {
    if (this.#closed) throw new DatastoreError("Unavailable", "datastore closed");
    try {
      return fn();
    } catch (e) {
      return unavailable(e);
    }
  }
}
