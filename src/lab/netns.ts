// The few iproute2 operations the lab needs, and finding and ending the processes that live in
// a netns. Teardown is synchronous so it can also run from a signal or exit handler.

import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import type { NetnsSetup } from "./topology.ts";

const netnsDir = "/run/netns";

function run(argv: string[], input: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs }, (err, _out, stderr) => {
      if (err) reject(new Error(`${argv.join(" ")} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
    child.stdin?.end(input);
  });
}

/** `ip -batch`: one process for many commands, stopping at the first failure. */
export function ipBatch(lines: string[], timeoutMs = 30_000): Promise<void> {
  return run(["ip", "-batch", "-"], `${lines.join("\n")}\n`, timeoutMs);
}

/**
 * Writes the sysctls, then runs the ip commands, all inside the netns. With `force`, ip goes on
 * past failing lines (removing routes that may be gone already).
 */
export function setupNetns(setup: NetnsSetup, force = false, timeoutMs = 30_000): Promise<void> {
  const writes = setup.sysctls.map((kv) => {
    const [key, value] = kv.split("=");
    return `echo ${value} > /proc/sys/${key}`;
  });
  const script = ["set -e", ...writes, `exec ip ${force ? "-force " : ""}-batch -`].join("; ");
  return run(
    ["ip", "netns", "exec", setup.netns, "sh", "-c", script],
    `${setup.ip.join("\n")}\n`,
    timeoutMs,
  );
}

/**
 * Waits until every port of a bridge forwards. The kernel tells a bridge about a port's carrier
 * through linkwatch, which batches such events up to a second, and the port drops every frame
 * until then.
 */
export async function waitBridgeForwarding(
  netns: string,
  bridge: string,
  ports: number,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "ip",
        ["-n", netns, "-d", "-j", "link", "show", "master", bridge],
        { timeout: timeoutMs },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const links = JSON.parse(out || "[]") as {
      linkinfo?: { info_slave_data?: { state?: string } };
    }[];
    const forwarding = links.filter((l) => l.linkinfo?.info_slave_data?.state === "forwarding");
    if (forwarding.length >= ports) return;
    if (Date.now() > deadline)
      throw new Error(
        `${bridge} in ${netns}: ${forwarding.length}/${ports} ports forward after ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function listNetns(): string[] {
  return existsSync(netnsDir) ? readdirSync(netnsDir).sort() : [];
}

function netnsInode(name: string): number | undefined {
  try {
    return statSync(`${netnsDir}/${name}`).ino;
  } catch {
    return undefined;
  }
}

/** True while the process runs; a zombie has already left its namespaces. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Processes whose network namespace is one of `names`, found by the namespace's inode. */
export function pidsInNetns(names: string[]): number[] {
  const inodes = new Set(
    names
      .map(netnsInode)
      .filter((i) => i !== undefined)
      .map((i) => `net:[${i}]`),
  );
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${entry}/ns/net`))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids.filter(isRunning);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Kills every process in the namespaces, then deletes them. A namespace that still holds a
 * process would outlive `ip netns del`, with its veths, so the kill is waited for (bounded).
 */
export function removeNetnsSync(
  names: string[],
  waitMs = 3000,
): { leftover: string[]; pids: number[] } {
  const deadline = Date.now() + waitMs;
  let pids = pidsInNetns(names);
  while (pids.length && Date.now() < deadline) {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    sleepSync(20);
    pids = pids.filter(isRunning);
  }
  const existing = names.filter((n) => netnsInode(n) !== undefined);
  if (existing.length) {
    spawnSync("ip", ["-force", "-batch", "-"], {
      input: existing.map((n) => `netns del ${n}`).join("\n"),
      stdio: ["pipe", "ignore", "ignore"],
      timeout: 30_000,
    });
  }
  return { leftover: names.filter((n) => netnsInode(n) !== undefined), pids };
}
