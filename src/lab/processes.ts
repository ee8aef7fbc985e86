// Detached processes: probers and node agents outlive the command that started them, so each
// runs in its own session and process group, writes to a log file, and is found again by a pid
// file. Ending one ends its group (a prober's SCTP peer with it). Synchronous, so teardown can
// run from a signal or exit handler.

import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename } from "node:path";
import { isRunning } from "./netns.ts";
import type { LabFiles } from "./state.ts";

/** A detached process this process started: it still tells when that process exits. */
export type Detached = ChildProcess & { readonly pid: number };

/** Starts `argv` inside `netns`, detached; returns it once the pid file is written. */
export function spawnDetached(
  files: LabFiles,
  name: string,
  netns: string | undefined,
  argv: string[],
): Detached {
  const log = openSync(files.log(name), "a");
  try {
    // `ip netns exec` enters the namespace and execs argv: the pid is argv's process. Without
    // a namespace the process runs in this one.
    const [command, ...args] = netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
    const child = spawn(command!, args, {
      detached: true,
      stdio: ["ignore", log, log],
    });
    child.unref();
    if (child.pid === undefined)
      throw new Error(`could not start ${name} in ${netns ?? "this netns"}`);
    writeFileSync(files.pid(name), `${child.pid}\n`);
    return child as Detached;
  } finally {
    closeSync(log);
  }
}

/**
 * The pid in a pid file, if that process still runs and is ours: its command line names the
 * lab's directory (every argv the lab starts does), so a reused pid is never taken for it. The
 * command line reads empty for a moment while `ip netns exec` execs into argv; that is ours too.
 */
export function livePid(files: LabFiles, name: string): number | undefined {
  const file = files.pid(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1 || !isRunning(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline === "" || cmdline.includes(files.dir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Kills the process groups of the named detached processes and removes their pid files.
 * Returns the names whose process still ran after `waitMs`.
 */
export function stopDetached(files: LabFiles, names: string[], waitMs = 3000): string[] {
  const live = new Map<string, number>();
  for (const name of names) {
    const pid = livePid(files, name);
    if (pid === undefined) rmSync(files.pid(name), { force: true });
    else live.set(name, pid);
  }
  const deadline = Date.now() + waitMs;
  while (live.size > 0 && Date.now() < deadline) {
    for (const [name, pid] of live) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // the group is gone already
      }
      if (!isRunning(pid)) {
        live.delete(name);
        rmSync(files.pid(name), { force: true });
      }
    }
    if (live.size > 0) sleepSync(20);
  }
  return [...live.keys()];
}

/** Names of every process with a pid file. */
export function detachedNames(files: LabFiles): string[] {
  if (!existsSync(files.pidsDir)) return [];
  return readdirSync(files.pidsDir)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => basename(f, ".pid"))
    .sort();
}

/** The last `bytes` of a detached process's log, for error messages. */
export function logTail(files: LabFiles, name: string, bytes = 2000): string {
  try {
    return readFileSync(files.log(name), "utf8").slice(-bytes).trim();
  } catch {
    return "";
  }
}
