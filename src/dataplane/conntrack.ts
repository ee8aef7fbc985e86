// Conntrack hygiene: the connection entries of an address outlive the endpoint that held it,
// and an established entry is accepted before any policy; so when an address leaves its
// endpoint (deleted, or given to another one) its entries are deleted, through the kernel's
// own tool (conntrack-tools), in the agent's network namespace.

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Conntrack {
  /** Deletes every entry with one of these addresses as its source or destination. */
  forget(addresses: readonly string[]): Promise<void>;
}

export class KernelConntrack implements Conntrack {
  readonly #netns: string | undefined;

  constructor(target: { netns?: string } = {}) {
    this.#netns = target.netns;
  }

  async forget(addresses: readonly string[]): Promise<void> {
    const runs = addresses.flatMap((a) =>
      ["--orig-src", "--orig-dst"].map((side) => this.#delete(a, side)),
    );
    await Promise.all(runs);
  }

  async #delete(address: string, side: string): Promise<void> {
    const family = address.includes(":") ? "ipv6" : "ipv4";
    const args = ["-D", "-f", family, side, address];
    const argv = this.#netns
      ? ["ip", "netns", "exec", this.#netns, "conntrack", ...args]
      : ["conntrack", ...args];
    try {
      await run(argv[0]!, argv.slice(1), { timeout: 10_000 });
    } catch (e) {
      // conntrack exits 1 when nothing matched: the address had no entries.
      const err = e as { code?: number; stderr?: string };
      if (err.code === 1 && /0 flow entries/.test(err.stderr ?? "")) return;
      throw new Error(`conntrack ${args.join(" ")}: ${err.stderr?.trim() || String(e)}`);
    }
  }
}
