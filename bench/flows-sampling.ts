// What logging allowed connections costs, and what sampling saves (root: network namespaces
// this bench creates, real nft, real ulogd2 read by the flows stage as the agent reads it).
// New TCP connections per second from a client pod to a server pod through the node, allowed
// by a policy, with allowed connections not logged, all logged, and logged 1 in N; alternating
// runs, best of three each, ratios against "not logged" from the same process.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Enforcer } from "../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT, type EnforcementConfig } from "../src/dataplane/nftables/index.ts";
import { NodeFlows } from "../src/flows/index.ts";
import { type Resource, validResource } from "../src/model/index.ts";
import { KernelNftables } from "../src/nft/index.ts";
import { NODE } from "../test/agent/kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "../test/agent/netns-topology.ts";
import { connectLoopScript } from "./connect-loop.ts";
import { type BenchArgs, type BenchReport, intArg } from "./lib.ts";

const CLIENT = connectLoopScript(389);

async function connect(netns: string, host: string, total: number) {
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, "-e", CLIENT, host, String(total), "8000", "4"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`client exited ${code}`)));
  });
  const out = JSON.parse(line) as { done: number; failed: number; ms: number };
  return { rate: out.done / (out.ms / 1000), ...out };
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  if (process.getuid?.() !== 0) throw new Error("bench flows-sampling needs root");
  const total = intArg(args, "connections", 5000);
  const sample = intArg(args, "sample", 10);
  const topo = await TestTopology.create(
    ["client", "server"],
    { tcp: [389], udp: [] },
    { client: "bench", server: "bench" },
  );
  const dir = mkdtempSync(join(tmpdir(), "msx-bench-sampling-"));
  const flows = new NodeFlows({
    capture: { dir, netns: topo.node, groups: [1, 2] },
    defaultAlert: false,
  });
  try {
    const pod = (name: string, role: string): Resource => {
      const p = topo.pod(name);
      return validResource({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "bench", labels: { role } },
        spec: { nodeName: NODE, containers: [{ name: "c" }] },
        status: { podIP: p.ip, podIPs: [{ ip: p.ip }, { ip: p.ip6 }] },
      });
    };
    const events = [
      validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }),
      pod("client", "client"),
      pod("server", "server"),
      validResource({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "server", namespace: "bench" },
        spec: {
          podSelector: { matchLabels: { role: "server" } },
          ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }] }],
        },
      }),
    ].map((resource) => ({ type: "upsert" as const, resource }));
    flows.apply(events);
    await flows.start();
    const base: EnforcementConfig = {
      ...DEFAULT_ENFORCEMENT,
      workloadInterfaces: [WORKLOAD_IFACES],
      podInterfacePrefix: POD_IFACE_PREFIX,
    };
    const modes = [
      { name: "not logged", cfg: base },
      { name: "all logged", cfg: { ...base, nflogAllowGroup: 2 } },
      {
        name: `1 in ${sample} logged`,
        cfg: { ...base, nflogAllowGroup: 2, nflogAllowSample: sample },
      },
    ];
    const runs: Array<{ mode: string; rate: number; done: number; logged: number }> = [];
    for (let round = 0; round < 3; round++) {
      for (const mode of modes) {
        const enforcer = new Enforcer({
          node: NODE,
          nft: new KernelNftables({ netns: topo.node }),
          enforcement: mode.cfg,
        });
        await enforcer.enforce(events);
        const before = flows.pipeline.stats().byAction.allow ?? 0;
        const r = await connect(topo.pod("client").netns, topo.pod("server").ip, total);
        // Let ulogd2's output be read before counting what was logged.
        await new Promise((res) => setTimeout(res, 300));
        flows.capture?.poll();
        runs.push({
          mode: mode.name,
          ...r,
          logged: (flows.pipeline.stats().byAction.allow ?? 0) - before,
        });
      }
    }
    const best = (mode: string) =>
      runs.filter((r) => r.mode === mode).sort((a, b) => b.rate - a.rate)[0]!;
    const bare = best("not logged");
    const rows = modes.map(({ name }) => {
      const b = best(name);
      return {
        metric: `new TCP connections/s, allowed ${name}`,
        value: Math.round(b.rate),
        unit: "conn/s",
        note: `${b.done} in ${Math.round((b.done / b.rate) * 1000)} ms, ${b.logged} flow logs; ratio ${(b.rate / bare.rate).toFixed(2)}`,
      };
    });
    const figures = Object.fromEntries(
      modes.map(({ name }) => [name.replace(/\W+/g, "_"), Math.round(best(name).rate)]),
    );
    return { rows, figures };
  } finally {
    await flows.stop();
    topo.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
