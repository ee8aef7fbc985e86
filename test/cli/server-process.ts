// A real `microseg server` child process on a temp SQLite file and a free loopback port, and a
// runner of the CLI against it, for the tests of the verbs that talk to the server.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "microseg.js");
const START_TIMEOUT_MS = 60_000;

export interface ServerProcess {
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the server and resolves once it logged where it listens. */
export async function startServerProcess(
  opts: { token?: string; args?: readonly string[] } = {},
): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "microseg-cli-server-"));
  const args = [BIN, "server", "--datastore", `sqlite:${join(dir, "store.db")}`];
  args.push("--listen", "127.0.0.1:0", ...(opts.args ?? []));
  if (opts.token) {
    writeFileSync(join(dir, "token"), opts.token);
    args.push("--token-file", join(dir, "token"));
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("microseg server did not start within 60 s")),
        START_TIMEOUT_MS,
      );
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once("exit", (code) => reject(new Error(`microseg server exited ${code}: ${stderr}`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    return { url, dir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One CLI run against `server`, with `input` on standard input. */
export function cli(server: string, args: readonly string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, MICROSEG_SERVER: server },
    ...(input !== undefined ? { input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CLI run that stays (`get --watch`): its output so far, and a way to wait for a line. */
export function cliRunning(server: string, args: readonly string[]) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, MICROSEG_SERVER: server },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  const waiters: { test: RegExp; resolve: () => void }[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const w of [...waiters]) {
      if (w.test.test(stdout)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    get stdout() {
      return stdout;
    },
    /** Resolves when stdout matches; rejects after `ms`. */
    waitFor(test: RegExp, ms = 30_000): Promise<void> {
      if (test.test(stdout)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${test} in ${ms} ms; output so far:\n${stdout}`)),
          ms,
        );
        waiters.push({
          test,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
