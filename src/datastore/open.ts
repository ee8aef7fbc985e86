// The one factory that turns a `--datastore` URL into a store: `sqlite:PATH` today (relative
// paths from the working directory, `sqlite::memory:` for a private in-memory store); etcd
// joins here later under its own scheme.
import { resolve } from "node:path";
import { SqliteDatastore, type SqliteOptions } from "./sqlite/store.ts";
import { type Datastore, DatastoreError } from "./types.ts";

export const DEFAULT_DATASTORE_URL = "sqlite:.microseg/store.db";

export interface OpenOptions {
  readonly sqlite?: SqliteOptions;
}

export async function openDatastore(url: string, opts: OpenOptions = {}): Promise<Datastore> {
  const colon = url.indexOf(":");
  const scheme = colon < 0 ? "" : url.slice(0, colon);
  const rest = colon < 0 ? url : url.slice(colon + 1);
  if (scheme === "sqlite") {
    const path = rest.startsWith("//") ? rest.slice(2) : rest;
    if (path === "") throw badUrl(url, "sqlite: needs a file path (sqlite:PATH)");
    return SqliteDatastore.open(path === ":memory:" ? path : resolve(path), opts.sqlite);
  }
  throw badUrl(
    url,
    scheme === ""
      ? "no scheme: write sqlite:PATH"
      : `unknown scheme "${scheme}:" (supported: sqlite:PATH)`,
  );
}

function badUrl(url: string, why: string): DatastoreError {
  return new DatastoreError("Invalid", `datastore URL "${url}": ${why}`, [
    { code: "manifest.field", path: "datastore", message: why },
  ]);
}
