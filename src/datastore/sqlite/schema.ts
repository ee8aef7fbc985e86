// The SQLite file: WAL journal (readers never block the writer; other processes see commits),
// synchronous=FULL (a commit is on disk before the write is acknowledged, so not even power
// loss drops an acknowledged write), a busy timeout so writers from several processes queue
// rather than fail. Tables:
//   meta     name -> integer: `revision` (last write), `compacted` (change log forgotten up to)
//   objects  the current state: one row per object, keyed by resourceKey, body as JSON
//   changes  the change log: one row per event (each change has its own revision), body as JSON
import type Database from "better-sqlite3";
import { MICROSEG_V1 } from "../../model/index.ts";

export const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS objects_by_kind ON objects (kind, namespace, name);
CREATE TABLE IF NOT EXISTS changes (
  revision INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  body TEXT NOT NULL
);
`;

/** The kind column of a microseg.io kind (`microseg.io/Tier`). */
export function microsegKind(kind: string): string {
  return `${MICROSEG_V1.split("/")[0]}/${kind}`;
}

export function configure(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = OFF");
}

/**
 * Creates the tables when missing; returns true when this call made a fresh store (the caller
 * then seeds the built-in objects in the same transaction).
 */
export function migrate(db: Database.Database): boolean {
  db.exec(DDL);
  const row = db.prepare("SELECT value FROM meta WHERE name = 'schema'").get() as
    | { value: number }
    | undefined;
  if (row === undefined) {
    const put = db.prepare("INSERT INTO meta (name, value) VALUES (?, ?)");
    put.run("schema", SCHEMA_VERSION);
    put.run("revision", 0);
    put.run("compacted", 0);
    return true;
  }
  if (row.value !== SCHEMA_VERSION) {
    throw new Error(
      `store schema version ${row.value} is not ${SCHEMA_VERSION}: this microseg cannot read it`,
    );
  }
  return false;
}
