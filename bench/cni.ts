// The CNI chain's cost per pod: N ADDs, one pod after another, through Debian's bridge and
// host-local plugins and then microseg's, exec'd as a runtime does (test/cni/runtime.ts), with
// a real agent in a node network namespace (every pod behind a default-deny). Reports the
// agent's ADD-to-enforced (request received to transactions committed; the figure behind the
// `microseg_cni_add_to_enforced_seconds` histogram), microseg's plugin exec (process start to
// exit, which includes the agent's part) and the whole chain, p50/p99; the baseline in the same
// process is the plugin's bare start-up (VERSION) and the bridge plugin's ADD. `--plugin sea`
// runs the single executable a node gets (built first, `npm run build:cni`) instead of
// bin/microseg-cni.js, and adds the script's VERSION as a second baseline.
// Root. `npm run bench -- cni [--pods N] [--plugin js|sea] [--json]`
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Resource } from "../src/model/index.ts";
import {
  type AgentProcess,
  startAgentProcess,
  until,
  writeManifests,
} from "../test/agent/kernel-fixtures.ts";
import { Runtime, type Sandbox } from "../test/cni/runtime.ts";
import { type BenchArgs, type BenchReport, intArg, load1, nowMs, summarize } from "./lib.ts";

const script = fileURLToPath(new URL("../bin/microseg-cni.js", import.meta.url));
const buildCni = fileURLToPath(new URL("../scripts/build-cni.mjs", import.meta.url));

function manifests(pods: number): Resource[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "deny-all", namespace: "bench" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    ...Array.from({ length: pods }, (_, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `pod-${i}`, namespace: "bench", labels: { app: `app-${i % 5}` } },
      spec: { nodeName: "node-1" },
    })),
  ] as unknown as Resource[];
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const pods = intArg(args, "pods", 30);
  const kind = args.plugin ?? "js";
  if (kind !== "js" && kind !== "sea") throw new Error("--plugin: js or sea");
  const suffix = randomBytes(3).toString("hex");
  const nodeNs = `mscnib-${suffix}`;
  const dir = mkdtempSync(join(tmpdir(), "mscnib-"));
  const binDir = join(dir, "bin");
  const socket = join(dir, "cni.sock");
  const bridge = `msbb${suffix}`;
  const netns = (i: number) => `mscnib-${suffix}-${i}`;
  const made: string[] = [];
  let agent: AgentProcess | undefined;
  try {
    mkdirSync(binDir);
    for (const p of ["bridge", "host-local"]) symlinkSync(`/usr/lib/cni/${p}`, join(binDir, p));
    symlinkSync(script, join(binDir, kind === "sea" ? "microseg-js" : "microseg"));
    if (kind === "sea")
      execFileSync(process.execPath, [buildCni, "--out", join(binDir, "microseg")], {
        stdio: "pipe",
      });
    execFileSync("ip", ["netns", "add", nodeNs]);
    made.push(nodeNs);
    execFileSync("ip", ["netns", "exec", nodeNs, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    const file = join(dir, "manifests.yaml");
    writeManifests(file, manifests(pods));
    agent = startAgentProcess(nodeNs, [
      ...["-f", file, "--cni-socket", socket, "--workload-iface", bridge, "veth*"],
      ...["--no-flows", "--resync-interval", "0"],
    ]);
    const a = agent;
    await until(
      "the agent's CNI socket",
      () => a.logs.some((l) => l.msg === "cni socket listening"),
      60_000,
    );
    const plugins = [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        ipam: {
          type: "host-local",
          dataDir: join(dir, "ipam"),
          ranges: [[{ subnet: "198.18.0.0/22" }]],
        },
      },
      { type: "microseg", socket, timeoutSeconds: 30 },
    ];
    const rt = new Runtime(binDir, nodeNs, { cniVersion: "1.0.0", name: "bench", plugins });
    const loadBefore = load1();
    const startup: number[] = [];
    const scriptStartup: number[] = [];
    const bridgeAdd: number[] = [];
    const pluginAdd: number[] = [];
    const chain: number[] = [];
    for (let i = 0; i < pods; i++) {
      const t = nowMs();
      await rt.exec("microseg", "VERSION", undefined, "");
      startup.push(nowMs() - t);
      if (kind === "sea") {
        const t1 = nowMs();
        await rt.exec("microseg-js", "VERSION", undefined, "");
        scriptStartup.push(nowMs() - t1);
      }
      execFileSync("ip", ["netns", "add", netns(i)]);
      made.push(netns(i));
      const sandbox: Sandbox = {
        containerId: `bench-${i}`,
        netns: netns(i),
        namespace: "bench",
        pod: `pod-${i}`,
      };
      let mark = nowMs();
      const t0 = mark;
      await rt.add(sandbox, (type) => {
        const now = nowMs();
        (type === "bridge" ? bridgeAdd : pluginAdd).push(now - mark);
        mark = now;
      });
      chain.push(nowMs() - t0);
    }
    const enforced = a.logs.filter((l) => l.msg === "cni add enforced").map((l) => Number(l.ms));
    if (enforced.length !== pods) throw new Error(`${enforced.length} of ${pods} ADDs enforced`);
    const loadAfter = load1();
    const e = summarize(enforced);
    const p = summarize(pluginAdd);
    const s = summarize(startup);
    const b = summarize(bridgeAdd);
    const c = summarize(chain);
    const js = kind === "sea" ? summarize(scriptStartup).p50 : s.p50;
    const figures = {
      pods,
      plugin: kind,
      scriptStartupP50Ms: js,
      addToEnforcedP50Ms: e.p50,
      addToEnforcedP99Ms: e.p99,
      pluginAddP50Ms: p.p50,
      pluginAddP99Ms: p.p99,
      pluginStartupP50Ms: s.p50,
      bridgeAddP50Ms: b.p50,
      chainP50Ms: c.p50,
      chainP99Ms: c.p99,
      pluginAddOverStartup: p.p50 / s.p50,
      loadBefore,
      loadAfter,
    };
    const ms = (v: number) => Number(v.toFixed(1));
    return {
      rows: [
        { metric: "ADD to enforced (agent) p50", value: ms(e.p50), unit: "ms" },
        { metric: "ADD to enforced (agent) p99", value: ms(e.p99), unit: "ms" },
        { metric: "microseg plugin ADD exec p50", value: ms(p.p50), unit: "ms" },
        { metric: "microseg plugin ADD exec p99", value: ms(p.p99), unit: "ms" },
        { metric: "baseline: plugin start-up (VERSION) p50", value: ms(s.p50), unit: "ms" },
        { metric: "baseline: bridge plugin ADD p50", value: ms(b.p50), unit: "ms" },
        ...(kind === "sea"
          ? [
              { metric: "baseline: bin/microseg-cni.js start-up p50", value: ms(js), unit: "ms" },
              {
                metric: "single executable / script start-up",
                value: Number((s.p50 / js).toFixed(2)),
              },
            ]
          : []),
        { metric: "whole chain ADD p50", value: ms(c.p50), unit: "ms" },
        { metric: "whole chain ADD p99", value: ms(c.p99), unit: "ms" },
        { metric: "plugin ADD / plugin start-up", value: Number((p.p50 / s.p50).toFixed(2)) },
        { metric: "load average (1 min) before / after", value: `${loadBefore} / ${loadAfter}` },
      ],
      figures,
    };
  } finally {
    if (agent) {
      agent.child.kill("SIGTERM");
      await agent.exited;
    }
    for (const ns of made.reverse()) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
}
