// A real API server over a real SQLite file in a temp directory, on a free loopback port, and a
// small HTTP helper that returns status, headers and parsed JSON. Each test file starts its own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Datastore, openDatastore } from "../../src/datastore/index.ts";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/index.ts";

export interface Harness {
  readonly dir: string;
  readonly store: Datastore;
  readonly server: RunningServer;
  readonly url: string;
  request(
    method: string,
    path: string,
    opts?: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  readonly json: any;
}

export async function startHarness(
  opts: Partial<Omit<ServerOptions, "store">> = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "microseg-server-"));
  const store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
  const server = await startServer({ ...opts, store, port: 0 });
  const request: Harness["request"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    let body: string | Buffer | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    dir,
    store,
    server,
    url: server.url,
    request,
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
