// A fresh etcd for one test file: Debian's etcd-server on a random loopback address and random
// ports, its own data directory, killed and removed afterwards (`stop`, and an exit hook when a
// test dies). The transaction limits are raised so a whole-set apply fits in one etcd
// transaction (etcd's defaults are 128 operations and 1.5 MiB per request).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EtcdServer {
  /** `etcd://HOST:PORT`, what openDatastore takes. */
  readonly url: string;
  /** `HOST:PORT` of the client endpoint. */
  readonly endpoint: string;
  /** The running etcd's process id (benches read its CPU time from /proc). */
  readonly pid: number | undefined;
  /** SIGKILLs etcd, keeping its data; `start` brings it back on the same address. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Kills etcd and removes its data directory. */
  stop(): Promise<void>;
}

/** True when Debian's etcd-server is installed (ensure-deps installs it as root). */
export function etcdInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v etcd"], { stdio: "ignore" }).status === 0;
}

function randomLoopback(): string {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

async function healthy(endpoint: string, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) while starting`);
    }
    try {
      const res = await fetch(`http://${endpoint}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === "true") return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd on ${endpoint} not healthy after ${ms} ms`);
}

export interface EtcdStartOptions {
  /** Keep etcd's own transaction limits (128 operations, 1.5 MiB): for the tests of them. */
  readonly defaultLimits?: boolean;
  /**
   * Keep the data directory in memory (/dev/shm), where fdatasync costs nothing: for tests of
   * microseg's behaviour around etcd, which a shared disk's multi-second syncs would only slow
   * to their timeouts. Not for what measures etcd's writes (the benches).
   */
  readonly inMemory?: boolean;
}

export async function startEtcd(opts: EtcdStartOptions = {}): Promise<EtcdServer> {
  const dir = await mkdtemp(join(opts.inMemory ? "/dev/shm" : tmpdir(), "microseg-etcd-"));
  // A random address of 127/8 and a random port: other developers' etcds run on this machine.
  const host = randomLoopback();
  const clientPort = 20_000 + Math.floor(Math.random() * 40_000);
  const endpoint = `${host}:${clientPort}`;
  const peer = `http://${host}:${clientPort + 1}`;
  const log: string[] = [];
  let child: ChildProcess | undefined;
  const onExit = () => child?.kill("SIGKILL");
  process.once("exit", onExit);

  const start = async (): Promise<void> => {
    const proc = spawn(
      "etcd",
      [
        ...["--name", "microseg-test", "--data-dir", join(dir, "data")],
        ...["--listen-client-urls", `http://${endpoint}`],
        ...["--advertise-client-urls", `http://${endpoint}`],
        ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
        ...["--initial-cluster", `microseg-test=${peer}`],
        ...(opts.defaultLimits
          ? []
          : ["--max-txn-ops", "100000", "--max-request-bytes", String(64 * 1024 * 1024)]),
        ...["--log-level", "warn", "--logger", "zap"],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    proc.stderr?.on("data", (b: Buffer) => {
      log.push(b.toString());
      if (log.length > 50) log.shift();
    });
    child = proc;
    try {
      await healthy(endpoint, proc, 20_000);
    } catch (e) {
      proc.kill("SIGKILL");
      throw new Error(`${(e as Error).message}\n${log.join("")}`);
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  };

  try {
    await start();
  } catch (e) {
    process.removeListener("exit", onExit);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `etcd://${endpoint}`,
    endpoint,
    get pid() {
      return child?.pid;
    },
    kill,
    start,
    async stop() {
      await kill();
      process.removeListener("exit", onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
