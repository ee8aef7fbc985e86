// Conntrack hygiene: the connection entries of an address outlive the endpoint that held it,
// and an established entry is accepted before any policy; so when an address leaves its
// endpoint (deleted, or given to another one) its entries are deleted, and with revocation on,
// the entries of connections a policy change now denies. Through the kernel's own tool
// (conntrack-tools) in the agent's network namespace: every deletion of one update in one
// `conntrack -R FILE` process (the commands read from a file, all parsed before any runs; it
// opens its input by name, which a socket-backed stdin refuses), and one `conntrack -L` for a
// listing.

import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IpFamily } from "../net/cidr.ts";

/** A tracked connection's original direction, as `conntrack -L` lists it. */
export interface TrackedConnection {
  readonly family: IpFamily;
  /** `tcp`, `udp`, `sctp`, `icmp`, ... as conntrack names it. */
  readonly protocol: string;
  readonly source: string;
  readonly destination: string;
  /** Absent for protocols without ports. */
  readonly sourcePort?: number;
  readonly destinationPort?: number;
  /** The reply tuple's source: where the connection really goes after DNAT. */
  readonly replySource?: string;
  /** ICMP and ICMPv6 queries (echo, say): the original direction's type, code and id. */
  readonly icmp?: { readonly type: number; readonly code: number; readonly id: number };
}

export interface Conntrack {
  /** Deletes every entry with one of these addresses as its source or destination. */
  forget(addresses: readonly string[]): Promise<void>;
  /** Every tracked connection. */
  list(): Promise<TrackedConnection[]>;
  /** Deletes the entries of exactly these connections (with ports, or ICMP queries). */
  cut(connections: readonly TrackedConnection[]): Promise<void>;
}

const familyArg = (address: string) => (address.includes(":") ? "ipv6" : "ipv4");

/** `conntrack -L` lines: `tcp 6 431999 ESTABLISHED src=A dst=B sport=P dport=Q ... src=B ...`. */
export function parseConntrackList(text: string): TrackedConnection[] {
  const out: TrackedConnection[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    const protocol = words[0];
    if (!protocol) continue;
    // The first of each key is the original direction; the reply tuple repeats them.
    const first = new Map<string, string>();
    let replySource: string | undefined;
    for (const w of words) {
      const eq = w.indexOf("=");
      if (eq <= 0) continue;
      const key = w.slice(0, eq);
      if (!first.has(key)) first.set(key, w.slice(eq + 1));
      else if (key === "src" && replySource === undefined) replySource = w.slice(eq + 1);
    }
    const source = first.get("src");
    const destination = first.get("dst");
    if (!source || !destination) continue;
    const sport = first.get("sport");
    const dport = first.get("dport");
    const [type, code, id] = ["type", "code", "id"].map((k) => first.get(k));
    out.push({
      family: source.includes(":") ? 6 : 4,
      protocol,
      source,
      destination,
      ...(sport !== undefined && dport !== undefined
        ? { sourcePort: Number(sport), destinationPort: Number(dport) }
        : {}),
      ...(replySource ? { replySource } : {}),
      ...(type !== undefined && code !== undefined && id !== undefined
        ? { icmp: { type: Number(type), code: Number(code), id: Number(id) } }
        : {}),
    });
  }
  return out;
}

/** The `conntrack -D` arguments naming exactly this connection; undefined when none can. */
function cutArgs(c: TrackedConnection): string | undefined {
  const head = `-D -f ${familyArg(c.source)} -p ${c.protocol} --orig-src ${c.source} --orig-dst ${c.destination}`;
  if (c.sourcePort !== undefined && c.destinationPort !== undefined)
    return `${head} --sport ${c.sourcePort} --dport ${c.destinationPort}`;
  if (c.icmp && (c.protocol === "icmp" || c.protocol === "icmpv6")) {
    const o = `--${c.protocol}`;
    return `${head} ${o}-type ${c.icmp.type} ${o}-code ${c.icmp.code} ${o}-id ${c.icmp.id}`;
  }
  return undefined;
}

export class KernelConntrack implements Conntrack {
  readonly #netns: string | undefined;

  constructor(target: { netns?: string } = {}) {
    this.#netns = target.netns;
  }

  forget(addresses: readonly string[]): Promise<void> {
    return this.#batch(
      addresses.flatMap((a) =>
        ["--orig-src", "--orig-dst"].map((side) => `-D -f ${familyArg(a)} ${side} ${a}`),
      ),
    );
  }

  async list(): Promise<TrackedConnection[]> {
    return parseConntrackList(await this.#conntrack(["-L"]));
  }

  cut(connections: readonly TrackedConnection[]): Promise<void> {
    return this.#batch(connections.flatMap((c) => cutArgs(c) ?? []));
  }

  /** One process for every command; an entry already gone is no error. */
  async #batch(commands: readonly string[]): Promise<void> {
    if (commands.length === 0) return;
    const dir = await mkdtemp(join(tmpdir(), "microseg-conntrack-"));
    try {
      const file = join(dir, "commands");
      await writeFile(file, `${commands.join("\n")}\n`, { mode: 0o600 });
      await this.#conntrack(["-R", file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  #conntrack(args: string[]): Promise<string> {
    const argv = this.#netns
      ? ["ip", "netns", "exec", this.#netns, "conntrack", ...args]
      : ["conntrack", ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`conntrack ${args.join(" ")}: ${e.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(Buffer.concat(out).toString());
        else {
          const why = Buffer.concat(err).toString().trim() || `exit ${code ?? signal}`;
          reject(new Error(`conntrack ${args.join(" ")}: ${why}`));
        }
      });
    });
  }
}
