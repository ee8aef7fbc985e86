// The one factory that turns a `--datastore` URL into a store: `sqlite:PATH` (relative paths
// from the working directory, `sqlite::memory:` for a private in-memory store) or
// `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` (etcd v3; PREFIX `/microseg` unless given).
import { resolve } from "node:path";
import type { EtcdOptions } from "./etcd/store.ts";
import { SqliteDatastore, type SqliteOptions } from "./sqlite/store.ts";
import { type Datastore, DatastoreError } from "./types.ts";

export const DEFAULT_DATASTORE_URL = "sqlite:.microseg/store.db";

const SCHEMES = "sqlite:PATH, etcd://HOST:PORT[,HOST:PORT][/PREFIX]";

export interface OpenOptions {
  readonly sqlite?: SqliteOptions;
  readonly etcd?: Omit<EtcdOptions, "prefix">;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

async function openEtcd(url: string, rest: string, opts: OpenOptions): Promise<Datastore> {
  if (!rest.startsWith("//")) throw badUrl(url, "write etcd://HOST:PORT");
  const body = rest.slice(2);
  const slash = body.indexOf("/");
  const hostList = slash < 0 ? body : body.slice(0, slash);
  const prefix = slash < 0 ? undefined : body.slice(slash);
  const hosts = hostList.split(",").filter((h) => h !== "");
  if (hosts.length === 0) throw badUrl(url, "etcd:// needs at least one HOST:PORT");
  for (const h of hosts) {
    const m = HOST_PORT.exec(h);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) {
      throw badUrl(url, `"${h}" is not HOST:PORT`);
    }
  }
  if (prefix !== undefined && !/^(\/[A-Za-z0-9._-]+)+\/?$/.test(prefix)) {
    throw badUrl(url, `key prefix "${prefix}" must be /NAME[/NAME...]`);
  }
  // Loaded on first use: the etcd client (gRPC) costs seconds of start-up that SQLite users
  // and every CLI command would otherwise pay.
  const { EtcdDatastore } = await import("./etcd/store.ts");
  return EtcdDatastore.open(hosts, { ...opts.etcd, ...(prefix ? { prefix } : {}) });
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
  if (scheme === "etcd") return openEtcd(url, rest, opts);
  throw badUrl(
    url,
    scheme === ""
      ? `no scheme: write one of ${SCHEMES}`
      : `unknown scheme "${scheme}:" (supported: ${SCHEMES})`,
  );
}

function badUrl(url: string, why: string): DatastoreError {
  return new DatastoreError("Invalid", `datastore URL "${url}": ${why}`, [
    { code: "manifest.field", path: "datastore", message: why },
  ]);
}
