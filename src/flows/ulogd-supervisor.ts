// Runs ulogd2 for one node: writes its config, starts it inside the node's network namespace
// (NFLOG is per netns), restarts it with backoff when it exits, rotates its output on request
// (rename, then SIGHUP: ulogd2's JSON output reopens its file), and reports its health for the
// agent's status. With `conntrack`, it also reads connection ends (NFCT) into a file of their own,
// having turned on the netns's conntrack accounting and timestamps, which the counters need.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Backoff, type BackoffOptions } from "../util/backoff.ts";
import { findPluginDir, hasConntrackPlugin, renderUlogdConfig } from "./ulogd-config.ts";

export interface SupervisorLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface UlogdSupervisorOptions {
  /** Where config, output and ulogd2's log live (created). */
  readonly dir: string;
  readonly groups: readonly number[];
  /** The node's network namespace; the current one when unset. */
  readonly netns?: string;
  /** Read conntrack's connection ends too (packets and bytes of connections); off by default. */
  readonly conntrack?: boolean;
  /** First and longest wait before a restart; 100 ms and 5 s by default. */
  readonly backoffMs?: BackoffOptions;
  readonly log?: SupervisorLog;
}

export interface UlogdHealth {
  readonly state: "starting" | "running" | "restarting" | "stopped";
  /** Whether connection ends are read (asked for, the NFCT plugin there, accounting on). */
  readonly conntrack: boolean;
  readonly pid?: number;
  readonly restarts: number;
  /** Times ulogd2 logged that it is losing events (ENOBUFS: the kernel dropped records). */
  readonly lossReports: number;
  readonly since?: string;
  readonly lastExit?: {
    readonly code: number | null;
    readonly signal: string | null;
    readonly at: string;
  };
}

/** Running this long resets the backoff to its first step. */
const STABLE_MS = 10_000;
const READY_LINE = "entering main loop";
/** ulogd2's NFLOG input logs this when its socket overflowed (ulogd_inppkt_NFLOG.c). */
const LOSS_LINE = "We are losing events";

/** Per netns: counters and start/stop times on every new connection. */
const CONNTRACK_SYSCTLS = [
  "net.netfilter.nf_conntrack_acct=1",
  "net.netfilter.nf_conntrack_timestamp=1",
];

export class UlogdSupervisor {
  readonly outputFile: string;
  readonly conntrackFile: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly #opts: UlogdSupervisorOptions;
  #child: ChildProcess | undefined;
  #state: UlogdHealth["state"] = "stopped";
  #restarts = 0;
  #since: number | undefined;
  #lastExit: UlogdHealth["lastExit"];
  readonly #backoff: Backoff;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  /** ulogd2's log length when the current process started: its ready line comes after. */
  #logMark = 0;
  #conntrack = false;

  constructor(opts: UlogdSupervisorOptions) {
    this.#opts = opts;
    this.outputFile = join(opts.dir, "flows.json");
    this.conntrackFile = join(opts.dir, "conntrack.json");
    this.configFile = join(opts.dir, "ulogd.conf");
    this.logFile = join(opts.dir, "ulogd.log");
    this.pidFile = join(opts.dir, "ulogd.pid");
    this.#backoff = new Backoff({
      first: opts.backoffMs?.first ?? 100,
      max: opts.backoffMs?.max ?? 5000,
    });
  }

  /** Writes the config and starts ulogd2; resolves when it reads NFLOG. */
  async start(timeoutMs = 10_000): Promise<void> {
    const pluginDir = findPluginDir();
    if (!pluginDir) {
      throw new Error("ulogd2 plugins not found: install Debian's ulogd2 and ulogd2-json");
    }
    mkdirSync(this.#opts.dir, { recursive: true });
    await this.#killLeftover();
    this.#conntrack = this.#opts.conntrack === true && this.#enableConntrack(pluginDir);
    writeFileSync(
      this.configFile,
      renderUlogdConfig({
        groups: this.#opts.groups,
        outputFile: this.outputFile,
        logFile: this.logFile,
        pluginDir,
        ...(this.#conntrack ? { conntrackFile: this.conntrackFile } : {}),
      }),
    );
    this.#stopping = false;
    this.#spawn();
    await this.ready(timeoutMs);
  }

  /** Resolves once the current ulogd2 process has bound its NFLOG groups. */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#isReady()) {
      if (Date.now() > deadline) {
        throw new Error(`ulogd2 not ready after ${timeoutMs} ms: ${this.#logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.#state === "starting") this.#state = "running";
  }

  health(): UlogdHealth {
    if (this.#state === "starting" && this.#isReady()) this.#state = "running";
    return {
      state: this.#state,
      conntrack: this.#conntrack,
      ...(this.#child?.pid !== undefined && this.#state !== "stopped"
        ? { pid: this.#child.pid }
        : {}),
      restarts: this.#restarts,
      lossReports: this.#logTail().split(LOSS_LINE).length - 1,
      ...(this.#since !== undefined ? { since: new Date(this.#since).toISOString() } : {}),
      ...(this.#lastExit ? { lastExit: this.#lastExit } : {}),
    };
  }

  /** Renames the outputs to `<file>.1` and has ulogd2 reopen them; the followers drain the old. */
  rotate(): boolean {
    if (!this.#child?.pid || !existsSync(this.outputFile)) return false;
    renameSync(this.outputFile, `${this.outputFile}.1`);
    if (this.#conntrack && existsSync(this.conntrackFile)) {
      renameSync(this.conntrackFile, `${this.conntrackFile}.1`);
    }
    this.#child.kill("SIGHUP");
    return true;
  }

  /** The larger output's size. */
  outputBytes(): number {
    return Math.max(sizeOf(this.outputFile), this.#conntrack ? sizeOf(this.conntrackFile) : 0);
  }

  /**
   * Counters are kept only for connections made while accounting is on, in this netns; a node
   * whose sysctls cannot be set still logs packets, without connection counts.
   */
  #enableConntrack(pluginDir: string): boolean {
    if (!hasConntrackPlugin(pluginDir)) {
      this.#opts.log?.warn("ulogd2's NFCT plugin is missing: no connection byte counts");
      return false;
    }
    const argv = ["sysctl", "-q", ...CONNTRACK_SYSCTLS.flatMap((x) => ["-w", x])];
    const [cmd, ...args] = this.#opts.netns
      ? ["ip", "netns", "exec", this.#opts.netns, ...argv]
      : argv;
    const r = spawnSync(cmd!, args, { encoding: "utf8" });
    if (r.status !== 0) {
      this.#opts.log?.warn("conntrack accounting could not be turned on: no connection counts", {
        error: (r.stderr || String(r.error)).trim(),
      });
      return false;
    }
    return true;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const child = this.#child;
    this.#state = "stopped";
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }

  #spawn(): void {
    const ulogd = ["ulogd", "-c", this.configFile];
    const inNetns = this.#opts.netns ? ["ip", "netns", "exec", this.#opts.netns, ...ulogd] : ulogd;
    // The kernel sends ulogd2 SIGTERM when its agent dies, however it dies (SIGKILL, a crash):
    // an orphan would hold the NFLOG groups. setpriv (util-linux, essential in Debian) sets the
    // parent-death signal and execs, which keeps it across ip's exec of ulogd2.
    const [cmd, ...args] = ["setpriv", "--pdeathsig", "TERM", "--", ...inNetns];
    this.#logMark = this.#logSize();
    this.#state = "starting";
    this.#since = Date.now();
    // setpriv and `ip netns exec` exec ulogd2 itself, so this pid is ulogd2's and signals reach it.
    const child = spawn(cmd!, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-2000);
    });
    if (child.pid !== undefined) writeFileSync(this.pidFile, `${child.pid}\n`);
    child.on("error", (e) => this.#opts.log?.warn("ulogd2 failed to start", { error: e.message }));
    child.on("exit", (code, signal) => {
      if (this.#child !== child) return;
      this.#lastExit = { code, signal, at: new Date().toISOString() };
      if (this.#stopping) return;
      const ranMs = Date.now() - (this.#since ?? Date.now());
      if (ranMs >= STABLE_MS) this.#backoff.reset();
      const inMs = this.#backoff.next();
      this.#opts.log?.warn("ulogd2 exited; restarting", {
        code,
        signal,
        inMs,
        stderr: stderr.trim() || undefined,
      });
      this.#state = "restarting";
      this.#timer = setTimeout(() => {
        this.#restarts++;
        this.#spawn();
      }, inMs);
    });
    this.#child = child;
  }

  /**
   * A ulogd2 left by an agent that was killed outright still holds the NFLOG groups, and a new
   * one could not bind them: the one its pid file names is stopped if it runs this config.
   */
  async #killLeftover(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, "utf8").trim());
    } catch {
      return;
    }
    const runsOurs = () => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(this.configFile);
      } catch {
        return false;
      }
    };
    if (Number.isInteger(pid) && pid > 1 && runsOurs()) {
      this.#opts.log?.warn("stopping a ulogd2 left by an earlier agent", { pid });
      process.kill(pid, "SIGKILL");
      for (let i = 0; i < 250 && runsOurs(); i++) await new Promise((r) => setTimeout(r, 20));
    }
    rmSync(this.pidFile, { force: true });
  }

  #isReady(): boolean {
    if (this.#state !== "starting" && this.#state !== "running") return false;
    return this.#logTail(this.#logMark).includes(READY_LINE);
  }

  #logSize(): number {
    return sizeOf(this.logFile);
  }

  #logTail(from = 0): string {
    try {
      return readFileSync(this.logFile).subarray(from).toString();
    } catch {
      return "";
    }
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
