// How long a host endpoint found by its expectedIPs takes to be bound to an interface once the
// address appears on it (and back to its address once it goes): the window in which only the
// address binding judges (see ARCHITECTURE "Host endpoint stages"). A real agent in this
// process on a node netns with a veth interface; each round adds the address (`ip addr add`,
// timed from just before the call) and waits for the agent's "host interfaces done" log line
// (the `ip monitor` event, one `ip -j addr` read, one commit), then deletes it likewise. The
// same-process baselines: one `ip addr add` alone (in another netns), and one `ip -j addr show`
// read.
// Root. `npm run bench -- hep-rebind [--rounds N] [--json]`
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { IpHostInterfaces } from "../src/agent/host-interfaces.ts";
import { Agent, jsonLogger } from "../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../src/dataplane/nftables/index.ts";
import { MemorySource } from "../src/datastore/memory-source.ts";
import { validResource } from "../src/model/index.ts";
import { KernelNftables } from "../src/nft/index.ts";
import { type BenchArgs, type BenchReport, intArg, load1, nowMs, summarize } from "./lib.ts";

const ADDRESS = "198.19.9.1";

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const rounds = intArg(args, "rounds", 20);
  const netns = `mshepb-${randomBytes(3).toString("hex")}`;
  // The baselines' address changes go to a netns of their own: the agent would rebind on them.
  const base = `${netns}-base`;
  const ipIn = (ns: string, ...a: string[]) =>
    execFileSync("ip", ["-n", ns, ...a], { stdio: "ignore" });
  const inNs = (...a: string[]) => ipIn(netns, ...a);
  let agent: Agent | undefined;
  const made: string[] = [];
  try {
    for (const ns of [netns, base]) {
      execFileSync("ip", ["netns", "add", ns]);
      made.push(ns);
      // A veth pair (this kernel has no dummy interfaces); d0 takes the address.
      ipIn(ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1");
      ipIn(ns, "link", "set", "d0", "up");
    }
    const done: number[] = [];
    const write = (line: string) => {
      if ((JSON.parse(line) as { msg?: string }).msg === "host interfaces done") done.push(nowMs());
    };
    const source = new MemorySource([
      validResource({
        apiVersion: "microseg.io/v1",
        kind: "HostEndpoint",
        metadata: { name: "node-1-uplink", labels: { role: "edge" } },
        spec: { node: "node-1", expectedIPs: [ADDRESS] },
      }),
      validResource({
        apiVersion: "microseg.io/v1",
        kind: "GlobalNetworkPolicy",
        metadata: { name: "untracked" },
        spec: {
          selector: "role == 'edge'",
          doNotTrack: true,
          applyOnForward: true,
          ingress: [{ action: "Deny", protocol: "TCP", destination: { ports: [8080] } }],
        },
      }),
    ]);
    const hostInterfaces = new IpHostInterfaces({ netns, workloadInterfaces: [], pollMs: 0 });
    agent = new Agent({
      node: "node-1",
      source,
      nft: new KernelNftables({ netns }),
      hostInterfaces,
      enforcement: { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["wl*"] },
      log: jsonLogger({ level: "info", write }),
      resyncIntervalMs: 0,
    });
    await agent.start();
    const loadBefore = load1();
    /** Runs the change and waits (bounded) for the agent's next rebinding; its ms. */
    const timed = async (change: () => void): Promise<number> => {
      const seen = done.length;
      const t0 = nowMs();
      change();
      const deadline = t0 + 30_000;
      while (done.length === seen) {
        if (nowMs() > deadline) throw new Error("no rebinding within 30 s");
        await new Promise((r) => setTimeout(r, 1));
      }
      return done[seen]! - t0;
    };
    const bind: number[] = [];
    const unbind: number[] = [];
    const addAlone: number[] = [];
    const read: number[] = [];
    for (let i = 0; i < rounds; i++) {
      bind.push(await timed(() => inNs("addr", "add", `${ADDRESS}/32`, "dev", "d0")));
      unbind.push(await timed(() => inNs("addr", "del", `${ADDRESS}/32`, "dev", "d0")));
      // Baselines, between rounds so they share the load.
      const t0 = nowMs();
      ipIn(base, "addr", "add", `${ADDRESS}/32`, "dev", "d0");
      addAlone.push(nowMs() - t0);
      ipIn(base, "addr", "del", `${ADDRESS}/32`, "dev", "d0");
      const t1 = nowMs();
      await hostInterfaces.read();
      read.push(nowMs() - t1);
    }
    const loadAfter = load1();
    const [b, u, a, r] = [bind, unbind, addAlone, read].map(summarize);
    const ms = (v: number) => Number(v.toFixed(1));
    const figures = {
      rounds,
      bindP50Ms: b!.p50,
      bindP99Ms: b!.p99,
      unbindP50Ms: u!.p50,
      unbindP99Ms: u!.p99,
      ipAddrAddP50Ms: a!.p50,
      ipAddrReadP50Ms: r!.p50,
      bindOverAddrAdd: b!.p50 / a!.p50,
      loadBefore,
      loadAfter,
    };
    return {
      rows: [
        { metric: "address added to interface bound p50", value: ms(b!.p50), unit: "ms" },
        { metric: "address added to interface bound p99", value: ms(b!.p99), unit: "ms" },
        { metric: "address deleted to address bound p50", value: ms(u!.p50), unit: "ms" },
        { metric: "address deleted to address bound p99", value: ms(u!.p99), unit: "ms" },
        { metric: "baseline: ip addr add p50", value: ms(a!.p50), unit: "ms" },
        { metric: "baseline: ip -j addr show read p50", value: ms(r!.p50), unit: "ms" },
        { metric: "bound / ip addr add", value: Number((b!.p50 / a!.p50).toFixed(2)) },
        { metric: "load average (1 min) before / after", value: `${loadBefore} / ${loadAfter}` },
      ],
      figures,
    };
  } finally {
    await agent?.stop();
    for (const ns of made) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  }
}
