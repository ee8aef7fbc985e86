// A node and its pods as network namespaces, for kernel tests of the agent: each pod netns is
// joined to the node netns by a veth (node side named as Calico's CNI plugin names it, with
// prefix `wl`, for pods of namespace `shop`; routed, as a routed CNI does), so
// pod-to-pod traffic crosses the node's forward hook where microseg's table filters it.
// Every pod runs pod-helper.ts (echo servers, probes). remove() deletes everything.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { podInterfaceName } from "../../src/engine/workload-interface.ts";

/** The agent's --pod-iface-prefix and --workload-iface for these pods. */
export const POD_IFACE_PREFIX = "wl";
export const WORKLOAD_IFACES = `${POD_IFACE_PREFIX}*`;
/** Node-side interfaces of outside peers: no workload's, so host endpoint policy sees them. */
export const OUTSIDE_IFACE_PREFIX = "ext";

const helper = fileURLToPath(new URL("./pod-helper.ts", import.meta.url));
const repo = fileURLToPath(new URL("../../", import.meta.url));

export interface TestPod {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly ip6: string;
  readonly iface: string;
}

export interface ProbeSpec {
  readonly from: string;
  /** A pod name, or an address. */
  readonly to: string;
  readonly protocol: "TCP" | "UDP";
  readonly port: number;
  readonly family?: 4 | 6;
  readonly timeoutMs?: number;
}

const ip = (netns: string | undefined, ...args: string[]) =>
  execFileSync("ip", netns ? ["netns", "exec", netns, "ip", ...args] : args, { stdio: "pipe" });

const sysctl = (netns: string, ...settings: string[]) =>
  execFileSync("ip", [
    "netns",
    "exec",
    netns,
    "sysctl",
    "-q",
    ...settings.flatMap((s) => ["-w", s]),
  ]);

class PodProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  #next = 1;
  readonly ready: Promise<void>;

  constructor(netns: string, ports: { tcp: number[]; udp: number[] }) {
    this.#child = spawn(
      "ip",
      ["netns", "exec", netns, process.execPath, "--import", "tsx", helper, JSON.stringify(ports)],
      { cwd: repo, stdio: ["pipe", "pipe", "inherit"] },
    );
    let started!: () => void;
    this.ready = new Promise((r) => {
      started = r;
    });
    createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      const reply = JSON.parse(line) as { id: number } & Record<string, unknown>;
      if (reply.id === 0) return started();
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  request(r: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.stdin!.write(`${JSON.stringify({ id, ...r })}\n`);
    });
  }

  stop(): void {
    this.#child.kill("SIGKILL");
  }
}

export class TestTopology {
  readonly node: string;
  readonly pods: ReadonlyMap<string, TestPod>;
  readonly #processes = new Map<string, PodProcess>();
  readonly #netns: string[] = [];

  private constructor(
    prefix: string,
    names: readonly string[],
    namespaces: Readonly<Record<string, string>> = {},
    outside: readonly string[] = [],
  ) {
    this.node = `${prefix}-node`;
    this.pods = new Map([
      ...names.map((name, i): [string, TestPod] => [
        name,
        {
          name,
          netns: `${prefix}-${name}`,
          ip: `198.18.0.${i + 1}`,
          ip6: `fd00:18::${i + 1}`,
          iface: podInterfaceName(POD_IFACE_PREFIX, namespaces[name] ?? "shop", name),
        },
      ]),
      // Outside peers: routed like pods, on interfaces that are no workload's (`ext<i>`).
      ...outside.map((name, i): [string, TestPod] => [
        name,
        {
          name,
          netns: `${prefix}-${name}`,
          ip: `198.18.1.${i + 1}`,
          ip6: `fd00:18:1::${i + 1}`,
          iface: `${OUTSIDE_IFACE_PREFIX}${i}`,
        },
      ]),
    ]);
  }

  /**
   * Creates the namespaces and starts every pod's servers; removes what it made on failure.
   * `namespaces` gives a pod's Kubernetes namespace (default `shop`) for its interface's name;
   * `prefix` starts every netns name (one per developer lane, so parallel runs never collide);
   * `outside` names peers beyond the node's other interfaces (a host endpoint's side).
   */
  static async create(
    names: readonly string[],
    ports: { tcp: number[]; udp: number[] },
    namespaces: Readonly<Record<string, string>> = {},
    prefix = "msxtest",
    outside: readonly string[] = [],
  ): Promise<TestTopology> {
    const id = `${prefix}-${randomBytes(3).toString("hex")}`;
    const t = new TestTopology(id, names, namespaces, outside);
    try {
      t.#build();
      for (const pod of t.pods.values())
        t.#processes.set(pod.name, new PodProcess(pod.netns, ports));
      await Promise.all([...t.#processes.values()].map((p) => p.ready));
    } catch (e) {
      t.remove();
      throw e;
    }
    return t;
  }

  #build(): void {
    const noDad = ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"];
    ip(undefined, "netns", "add", this.node);
    this.#netns.push(this.node);
    sysctl(this.node, ...noDad, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
    ip(this.node, "link", "set", "lo", "up");
    for (const pod of this.pods.values()) {
      ip(undefined, "netns", "add", pod.netns);
      this.#netns.push(pod.netns);
      sysctl(pod.netns, ...noDad);
      ip(
        this.node,
        "link",
        "add",
        pod.iface,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        pod.netns,
      );
      ip(this.node, "addr", "add", "198.19.0.1/32", "dev", pod.iface);
      ip(this.node, "addr", "add", "fe80::1/64", "dev", pod.iface, "nodad");
      ip(this.node, "link", "set", pod.iface, "up");
      ip(this.node, "route", "add", `${pod.ip}/32`, "dev", pod.iface);
      ip(this.node, "route", "add", `${pod.ip6}/128`, "dev", pod.iface);
      ip(pod.netns, "link", "set", "lo", "up");
      ip(pod.netns, "addr", "add", `${pod.ip}/32`, "dev", "eth0");
      ip(pod.netns, "addr", "add", `${pod.ip6}/128`, "dev", "eth0", "nodad");
      ip(pod.netns, "link", "set", "eth0", "up");
      ip(pod.netns, "route", "add", "198.19.0.1/32", "dev", "eth0", "scope", "link");
      ip(pod.netns, "route", "add", "default", "via", "198.19.0.1", "dev", "eth0");
      ip(pod.netns, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0");
    }
  }

  pod(name: string): TestPod {
    const p = this.pods.get(name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  #target(spec: { to: string; family?: 4 | 6 }): string {
    const pod = this.pods.get(spec.to);
    if (!pod) return spec.to;
    return spec.family === 6 ? pod.ip6 : pod.ip;
  }

  /** Whether a new connection (TCP) or an echoed datagram (UDP) gets through. */
  async probe(spec: ProbeSpec): Promise<boolean> {
    const reply = await this.#processes.get(spec.from)!.request({
      op: spec.protocol === "TCP" ? "tcp" : "udp",
      host: this.#target(spec),
      port: spec.port,
      timeoutMs: spec.timeoutMs ?? 400,
    });
    return reply.connected === true;
  }

  /** Opens a TCP connection and keeps it; send() checks that it still carries data. */
  async open(
    from: string,
    to: string,
    port: number,
  ): Promise<{ send(data: string): Promise<boolean> } | undefined> {
    const proc = this.#processes.get(from)!;
    const reply = await proc.request({
      op: "open",
      host: this.#target({ to }),
      port,
      timeoutMs: 1000,
    });
    if (reply.connected !== true) return undefined;
    const conn = reply.id;
    return {
      send: async (data) =>
        (await proc.request({ op: "send", conn, data, timeoutMs: 1000 })).echoed === true,
    };
  }

  /** Stops the pod processes and deletes every namespace; safe to call twice. */
  remove(): void {
    for (const p of this.#processes.values()) p.stop();
    this.#processes.clear();
    for (const ns of this.#netns.splice(0).reverse()) {
      try {
        ip(undefined, "netns", "del", ns);
      } catch {
        // Already gone: removal is idempotent.
      }
    }
  }
}
