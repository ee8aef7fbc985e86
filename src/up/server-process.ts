// `microseg server` as a supervised child of `microseg up`: started, waited on until it
// answers /readyz, restarted with backoff when it dies, stopped with SIGTERM. The server holds
// no state of its own (the store file does), so a restart loses nothing, and the agents keep
// enforcing the last state while it is away.

import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Backoff } from "../util/backoff.ts";
import { NODE_FLAGS } from "../util/node-flags.ts";

const cli = fileURLToPath(new URL("../../bin/microseg.js", import.meta.url));

export interface ServerProcessOptions {
  readonly datastore: string;
  /** `host:port` */
  readonly listen: string;
  readonly tokenFile?: string;
  /** The server's flow and alert store (`--flow-store`). */
  readonly flowStore?: string;
  /** Holds the running server's pid. */
  readonly pidFile: string;
  /** Where the server's JSON log lines go (appended). */
  readonly logFd: number;
  /** Told when the server exits unexpectedly and when it is back. */
  readonly onEvent?: (event: { type: "exited"; code: number | null } | { type: "back" }) => void;
}

export class ServerProcess {
  readonly #opts: ServerProcessOptions;
  #child: ChildProcess | undefined;
  #stopping = false;
  readonly #backoff = new Backoff({ first: 200, max: 5_000 });
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(opts: ServerProcessOptions) {
    this.#opts = opts;
  }

  get url(): string {
    return `http://${this.#opts.listen}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the server and resolves once it is ready; rejects if it exits first or times out. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = this.#spawn();
    let onExit: ((code: number | null) => void) | undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = (code) =>
        reject(new Error(`microseg server exited with ${code} before it was ready`));
      child.once("exit", onExit);
    });
    try {
      await Promise.race([this.#waitReady(timeoutMs), exited]);
    } finally {
      if (onExit) child.off("exit", onExit);
    }
  }

  /** For exit hooks: signals the server and returns at once. */
  kill(): void {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    this.#child?.kill("SIGTERM");
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await gone;
    clearTimeout(timer);
  }

  #spawn(): ChildProcess {
    const args = [
      cli,
      "server",
      "--datastore",
      this.#opts.datastore,
      "--listen",
      this.#opts.listen,
    ];
    if (this.#opts.tokenFile) args.push("--token-file", this.#opts.tokenFile);
    if (this.#opts.flowStore) args.push("--flow-store", this.#opts.flowStore);
    const child = spawn(process.execPath, [...NODE_FLAGS, ...args], {
      stdio: ["ignore", this.#opts.logFd, this.#opts.logFd],
    });
    this.#child = child;
    if (child.pid !== undefined) writeFileSync(this.#opts.pidFile, `${child.pid}\n`);
    child.once("exit", (code) => {
      if (this.#stopping) return;
      this.#opts.onEvent?.({ type: "exited", code });
      const wait = this.#backoff.next();
      this.#restartTimer = setTimeout(() => {
        this.#spawn();
        void this.#waitReady(60_000).then(
          () => {
            this.#backoff.reset();
            this.#opts.onEvent?.({ type: "back" });
          },
          () => undefined,
        );
      }, wait);
    });
    return child;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`microseg server not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
