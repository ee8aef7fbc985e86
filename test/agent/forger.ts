// The hostile workload's tools for kernel tests: forge.py (scapy) run inside a network
// namespace the test made, and a sniffer on a pod's own interface, so "blocked" means the
// packet never arrived.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const forger = fileURLToPath(new URL("./forge.py", import.meta.url));
// Debian's python3, where python3-scapy lives (not whatever python3 is first on PATH).
const PYTHON = "/usr/bin/python3";
const run = promisify(execFile);

/** Runs one forge.py command in `netns`; its JSON result. */
export async function forge(
  netns: string,
  ...args: Array<string | number>
): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    "ip",
    ["netns", "exec", netns, PYTHON, forger, ...args.map(String)],
    // scapy alone takes seconds to import on a loaded machine.
    { timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

/**
 * How many `proto`/`dport` packets reach `netns`'s eth0 while `action` runs and half a second
 * after (`icmp`: ICMP errors about a UDP datagram to `dport`).
 */
export async function arrivals(
  netns: string,
  proto: "udp" | "tcp" | "icmp",
  dport: number,
  action: () => Promise<unknown>,
): Promise<number> {
  const child: ChildProcess = spawn(
    "ip",
    ["netns", "exec", netns, PYTHON, forger, "sniff", "eth0", "0.5", proto, String(dport)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    assert.equal((await lines.next()).value, "ready");
    await action();
    child.stdin!.end("done\n");
    const result = JSON.parse((await lines.next()).value as string) as { seen: number };
    return result.seen;
  } finally {
    child.kill("SIGKILL");
  }
}
