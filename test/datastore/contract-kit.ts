// What the datastore contract suite needs from a store under test, and the small builders and
// waiters its cases share. A target makes fresh, empty stores; each can be opened again (a
// second client of the same store) and by URL from a child process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type {
  Datastore,
  DatastoreError,
  KindRef,
  WatchEvent,
  WatchOptions,
} from "../../src/datastore/index.ts";
import type { Resource } from "../../src/model/index.ts";

export interface StoreUnderTest {
  /** The first connection; the suite closes it. */
  readonly store: Datastore;
  /** What `openDatastore` takes to reach the same store (child processes use it). */
  readonly url: string;
  /** Another connection to the same store (another client, another SQLite connection). */
  connect(): Promise<Datastore>;
  /** Removes the store's files or keys. */
  cleanup(): Promise<void>;
}

export interface ContractTarget {
  readonly name: string;
  fresh(): Promise<StoreUnderTest>;
}

export const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
export const TIER: KindRef = { apiVersion: "microseg.io/v1", kind: "Tier" };
export const GNP: KindRef = { apiVersion: "microseg.io/v1", kind: "GlobalNetworkPolicy" };
export const CNP: KindRef = { apiVersion: "microseg.io/v1", kind: "NetworkPolicy" };
export const NAMESPACE: KindRef = { apiVersion: "v1", kind: "Namespace" };

export function pod(namespace: string, name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: { nodeName: "node-1" },
  } as unknown as Resource;
}

export function tier(name: string, order = 100): Resource {
  return { apiVersion: "microseg.io/v1", kind: "Tier", metadata: { name }, spec: { order } };
}

export function gnp(name: string, tierName: string, selector = "app == 'web'"): Resource {
  return {
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name },
    spec: { tier: tierName, selector, types: ["Ingress"], ingress: [{ action: "Allow" }] },
  } as unknown as Resource;
}

export function cnp(namespace: string, name: string, tierName: string): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    spec: { tier: tierName, selector: "all()", types: ["Egress"], egress: [{ action: "Deny" }] },
  } as unknown as Resource;
}

/** `r` with other labels, everything else (resourceVersion included) as it was. */
export function relabel(r: Resource, labels: Record<string, string>): Resource {
  return { ...r, metadata: { ...r.metadata, labels } } as Resource;
}

/** Runs `fn` expecting a DatastoreError with `code`; returns it for further checks. */
export async function rejects(
  fn: () => Promise<unknown>,
  code: DatastoreError["code"],
): Promise<DatastoreError> {
  try {
    await fn();
  } catch (e) {
    const err = e as DatastoreError;
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

/** A watch that records what it gets, with waiters on what it has so far. */
export class Recorder {
  readonly events: WatchEvent[] = [];
  error: DatastoreError | undefined;
  readonly #waiters: Array<() => void> = [];
  readonly stop: () => void;

  /** `stopAfter`: the watch stops itself after that many events, as a dropped connection. */
  constructor(store: Datastore, opts: WatchOptions, stopAfter = Number.POSITIVE_INFINITY) {
    const w = store.watch(opts, {
      onEvent: (e) => {
        this.events.push(e);
        if (this.events.length >= stopAfter) w.stop();
        this.#wake();
      },
      onError: (e) => {
        this.error = e;
        this.#wake();
      },
    });
    this.stop = () => w.stop();
  }

  /** Events other than bookmarks, as `TYPE Kind ns/name@revision`. */
  get lines(): string[] {
    return this.events.flatMap((e) =>
      e.type === "BOOKMARK"
        ? []
        : [
            `${e.type} ${e.object.kind} ${e.object.metadata.namespace ?? ""}/${e.object.metadata.name}@${e.revision}`,
          ],
    );
  }

  /** Resolves once `ok()` holds; fails after `ms` (generous: the machine is shared). */
  async until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}; have ${this.lines.join(", ")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** A child process running test/datastore/store-child.ts, talking in JSON lines. */
export class Child {
  readonly proc: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: Array<() => void> = [];
  exited = false;

  constructor(args: readonly string[]) {
    this.proc = spawn(
      process.execPath,
      ["--import", "tsx", new URL("./store-child.ts", import.meta.url).pathname, ...args],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const rl = createInterface({ input: this.proc.stdout! });
    rl.on("line", (line) => {
      this.#lines.push(line);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.proc.on("exit", () => {
      this.exited = true;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Generous: a child's start-up (tsx, the store's client) is slow on a loaded 2-core machine. */
  async untilLines(n: number, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#lines.length < n) {
      if (this.exited) assert.fail(`child exited after ${this.#lines.length} of ${n} lines`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`child gave ${this.#lines.length} of ${n} lines in ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  async exit(): Promise<number | null> {
    if (!this.exited) {
      await new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
    }
    return this.proc.exitCode;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (!this.exited) this.proc.kill(signal);
  }
}
