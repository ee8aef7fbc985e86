// The node's interfaces and their addresses, read from the kernel for the engine, which binds a
// HostEndpoint without `interfaceName` to the interfaces holding one of its expectedIPs (as
// Felix does). Read with iproute2 in the agent's network namespace (`ip -j addr show`), again
// whenever `ip monitor address` prints a change, and on a poll as well (`pollMs`), so a
// monitor that died costs at most one poll period; a monitor that exits is started again at the
// next poll. Loopback and workload interfaces are left out: host endpoint stages never judge
// their packets.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { interfaceMatches } from "../dataplane/nftables/index.ts";
import type { HostInterfaces } from "../engine/index.ts";
import { tryParseAddress } from "../net/cidr.ts";

export interface HostInterfaceSource {
  /** The interfaces now. */
  read(): Promise<HostInterfaces>;
  /** Calls back (at most once per change burst) when addresses may have changed. */
  watch(onChange: () => void): { stop(): void };
}

interface IpAddrEntry {
  readonly ifname?: string;
  readonly addr_info?: ReadonlyArray<{ readonly local?: string }>;
}

/** `ip -j addr show` output -> interface -> canonical addresses, without the excluded ones. */
export function parseIpAddr(json: string, excluded: readonly string[]): HostInterfaces {
  const out = new Map<string, string[]>();
  for (const entry of JSON.parse(json) as IpAddrEntry[]) {
    const name = entry.ifname;
    if (!name || name === "lo" || excluded.some((p) => interfaceMatches(p, name))) continue;
    const addresses = (entry.addr_info ?? [])
      .map((a) => (a.local === undefined ? undefined : tryParseAddress(a.local)?.text))
      .filter((a): a is string => a !== undefined)
      .sort();
    out.set(name, [...new Set(addresses)]);
  }
  return out;
}

/** `ip [-n NETNS] monitor address` until it exits or the shell's stdin ends (fd 3 keeps it). */
const MONITOR = [
  "exec 3<&0",
  'ip "$@" monitor address & m=$!',
  "{ read _ <&3; kill $m 2>/dev/null; } & r=$!",
  "wait $m",
  "kill $r 2>/dev/null",
].join("\n");

export interface IpHostInterfacesOptions {
  /** Network namespace (`ip -n`); the agent's own when unset. */
  readonly netns?: string;
  /** Workload interface patterns, left out. */
  readonly workloadInterfaces: readonly string[];
  /** The bound on a change the monitor missed; 10 s by default, 0: the monitor alone. */
  readonly pollMs?: number;
}

export class IpHostInterfaces implements HostInterfaceSource {
  readonly #opts: IpHostInterfacesOptions;

  constructor(opts: IpHostInterfacesOptions) {
    this.#opts = opts;
  }

  #argv(args: string[]): string[] {
    return this.#opts.netns ? ["-n", this.#opts.netns, ...args] : args;
  }

  read(): Promise<HostInterfaces> {
    return new Promise((resolve, reject) => {
      execFile(
        "ip",
        this.#argv(["-j", "addr", "show"]),
        { timeout: 10_000, maxBuffer: 64 << 20 },
        (error, stdout) => {
          if (error) reject(new Error(`ip addr show: ${error.message}`));
          else resolve(parseIpAddr(stdout, this.#opts.workloadInterfaces));
        },
      );
    });
  }

  watch(onChange: () => void): { stop(): void } {
    let monitor: ChildProcess | undefined;
    let stopped = false;
    const start = () => {
      if (stopped || monitor) return;
      // Through sh, so the monitor ends with the agent even on SIGKILL: the agent holds the
      // pipe on the shell's stdin, and its end (EOF) kills the monitor.
      const child = spawn("sh", ["-c", MONITOR, "sh", ...this.#argv([])], {
        stdio: ["pipe", "pipe", "ignore"],
      });
      monitor = child;
      // Every line is a change; one call per chunk is enough, the reader takes the whole list.
      child.stdout?.on("data", () => onChange());
      child.on("error", () => {});
      child.on("close", () => {
        if (monitor === child) monitor = undefined;
      });
    };
    start();
    const pollMs = this.#opts.pollMs ?? 10_000;
    const poll =
      pollMs > 0
        ? setInterval(() => {
            start();
            onChange();
          }, pollMs)
        : undefined;
    poll?.unref();
    return {
      stop: () => {
        stopped = true;
        clearInterval(poll);
        monitor?.stdin?.end();
      },
    };
  }
}
