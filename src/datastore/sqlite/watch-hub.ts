// Fan-out of the change log to watchers. The hub keeps one position (the last revision it
// read) and reads each new stretch of the log once, for every watcher: right after a commit on
// this connection, and when `PRAGMA data_version` says another connection (another process)
// committed, checked every `pollMs` while anyone watches. A new watcher first catches up from
// its own revision to the hub's position, then joins; both go through its queue, so it sees
// every event after its revision exactly once and in order. Listeners are called from
// microtasks, never inside a write.
import {
  DatastoreError,
  ExpiredError,
  type StoredResource,
  type Watch,
  type WatchEvent,
  type WatchEventType,
  type WatchListener,
  type WatchOptions,
} from "../types.ts";

export interface ChangeRow {
  readonly revision: number;
  readonly type: WatchEventType;
  readonly kind: string;
  readonly namespace: string;
  readonly body: string;
}

/** What the hub reads from the store; the reads of one call are one consistent snapshot. */
export interface ChangeLog {
  /** Rows after `revision` up to the last commit, and that commit's revision. */
  read(after: number): { rows: ChangeRow[]; revision: number; compacted: number };
  /** Changes whenever another connection commits (SQLite's data_version). */
  dataVersion(): number;
}

export interface WatchFilter {
  /** The kind column (`core/Pod`), when the watch is for one kind. */
  readonly kind?: string;
  readonly namespace?: string;
}

class Watcher {
  readonly #pending: WatchEvent[] = [];
  #scheduled = false;
  #bookmark: NodeJS.Timeout | undefined;
  stopped = false;

  constructor(
    readonly filter: WatchFilter,
    /** Events at or below this revision were already seen by the client. */
    readonly from: number,
    readonly listener: WatchListener,
    readonly bookmarkMs: number | undefined,
    readonly onQuiet: (w: Watcher) => void,
  ) {}

  matches(row: ChangeRow): boolean {
    return (
      row.revision > this.from &&
      (this.filter.kind === undefined || this.filter.kind === row.kind) &&
      (this.filter.namespace === undefined || this.filter.namespace === row.namespace)
    );
  }

  push(event: WatchEvent): void {
    if (this.stopped) return;
    this.#pending.push(event);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const events = this.#pending.splice(0);
    for (const e of events) {
      if (this.stopped) return;
      this.listener.onEvent(e);
    }
    this.armBookmark();
  }

  armBookmark(): void {
    if (this.bookmarkMs === undefined || this.stopped) return;
    clearTimeout(this.#bookmark);
    this.#bookmark = setTimeout(() => this.onQuiet(this), this.bookmarkMs);
  }

  get idle(): boolean {
    return this.#pending.length === 0;
  }

  stop(): void {
    this.stopped = true;
    this.#pending.length = 0;
    clearTimeout(this.#bookmark);
  }

  fail(error: DatastoreError): void {
    if (this.stopped) return;
    this.stop();
    queueMicrotask(() => this.listener.onError(error));
  }
}

export class WatchHub {
  readonly #log: ChangeLog;
  readonly #pollMs: number;
  readonly #watchers = new Set<Watcher>();
  #position: number;
  #dataVersion: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(log: ChangeLog, pollMs: number) {
    this.#log = log;
    this.#pollMs = pollMs;
    this.#position = log.read(Number.MAX_SAFE_INTEGER).revision;
    this.#dataVersion = log.dataVersion();
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  watch(opts: WatchOptions, filter: WatchFilter, listener: WatchListener): Watch {
    const watcher = new Watcher(filter, opts.fromRevision, listener, opts.bookmarkMs, (w) =>
      this.#quiet(w),
    );
    this.poll();
    const { rows, revision, compacted } = this.#log.read(opts.fromRevision);
    if (opts.fromRevision < compacted) {
      watcher.fail(new ExpiredError(opts.fromRevision, compacted));
      return { stop: () => watcher.stop() };
    }
    // The hub is at #position; rows past it are delivered by the next poll, to everyone.
    this.#deliver(
      rows.filter((r) => r.revision <= this.#position),
      [watcher],
    );
    this.#watchers.add(watcher);
    if (revision > this.#position) this.poll();
    watcher.armBookmark();
    if (this.#timer === undefined) {
      // Not unref'd: an open watch keeps the process alive, as a watch socket would.
      this.#timer = setInterval(() => this.#check(), this.#pollMs);
    }
    return {
      stop: () => {
        watcher.stop();
        this.#remove(watcher);
      },
    };
  }

  /** Reads everything committed since the last read and hands it to the watchers. */
  poll(): void {
    if (this.#watchers.size === 0) {
      this.#position = this.#log.read(Number.MAX_SAFE_INTEGER).revision;
      return;
    }
    const { rows, revision, compacted } = this.#log.read(this.#position);
    if (compacted > this.#position) {
      // Another process compacted past what this hub had read: its watchers missed events.
      for (const w of this.#watchers) w.fail(new ExpiredError(this.#position, compacted));
      this.#watchers.clear();
      this.#stopTimer();
    } else {
      this.#deliver(rows, [...this.#watchers]);
    }
    this.#position = Math.max(this.#position, revision);
  }

  close(): void {
    for (const w of this.#watchers) w.fail(new DatastoreError("Unavailable", "datastore closed"));
    this.#watchers.clear();
    this.#stopTimer();
  }

  #deliver(rows: readonly ChangeRow[], watchers: readonly Watcher[]): void {
    for (const row of rows) {
      let object: StoredResource | undefined;
      for (const w of watchers) {
        if (!w.matches(row)) continue;
        object ??= JSON.parse(row.body) as StoredResource;
        w.push({ type: row.type, object, revision: row.revision });
      }
    }
  }

  #check(): void {
    const version = this.#log.dataVersion();
    if (version === this.#dataVersion) return;
    this.#dataVersion = version;
    this.poll();
  }

  #quiet(w: Watcher): void {
    this.poll();
    if (w.stopped) return;
    if (w.idle) w.push({ type: "BOOKMARK", revision: Math.max(this.#position, w.from) });
    else w.armBookmark();
  }

  #remove(w: Watcher): void {
    this.#watchers.delete(w);
    if (this.#watchers.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
