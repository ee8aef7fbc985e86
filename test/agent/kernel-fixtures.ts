// Manifests and helpers shared by the agent's kernel tests: pods of a TestTopology as Pod
// resources, the expected verdict of a flow from MemoryDataplane, and the agent as a process.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { Enforcer } from "../../src/agent/index.ts";
import { KernelConntrack } from "../../src/dataplane/conntrack.ts";
import { MemoryDataplane } from "../../src/dataplane/memory/memory-dataplane.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/graph.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import {
  POD_IFACE_PREFIX,
  type TestPod,
  type TestTopology,
  WORKLOAD_IFACES,
} from "./netns-topology.ts";

export const NODE = "node-1";
const cli = fileURLToPath(new URL("../../bin/microseg.js", import.meta.url));

export const namespace: Resource = validResource({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "shop" },
});

export function podResource(
  name: string,
  addresses: Pick<TestPod, "ip" | "ip6">,
  labels: Record<string, string>,
  ports: Array<{ name: string; containerPort: number; protocol: string }> = [],
): Resource {
  return validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop", labels },
    spec: { nodeName: NODE, containers: [{ name: "c", ports }] },
    status: { podIP: addresses.ip, podIPs: [{ ip: addresses.ip }, { ip: addresses.ip6 }] },
  });
}

/** The Kubernetes NetworkPolicy most kernel tests start from: shop's web pods may reach db's `ports`. */
export function webToDb(
  name: string,
  ports: ReadonlyArray<{ port: number | string; protocol?: string }>,
): Resource {
  return validResource({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: "shop" },
    spec: {
      podSelector: { matchLabels: { app: "db" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports }],
    },
  });
}

/**
 * A WorkloadEndpoint that a pod's addresses and interface were given to (as a CNI reusing them
 * would) after the pod went, labelled `app: other`.
 */
export function addressTaker(pod: Pick<TestPod, "ip" | "ip6" | "iface">): Resource {
  return validResource({
    apiVersion: "microseg.io/v1",
    kind: "WorkloadEndpoint",
    metadata: { name: "newcomer", namespace: "shop", labels: { app: "other" } },
    spec: {
      node: NODE,
      orchestrator: "k8s",
      interfaceName: pod.iface,
      ipNetworks: [`${pod.ip}/32`, `${pod.ip6}/128`],
    },
  });
}

/** The address taker on web's address meets its own policy: db refuses it, open admits it. */
export async function assertTakerJudgedAsItself(topo: TestTopology, port: number): Promise<void> {
  assert.equal(
    await topo.probe({ from: "web", to: "db", protocol: "TCP", port }),
    false,
    "the newcomer is judged by its own policy",
  );
  assert.ok(
    await topo.probe({ from: "web", to: "open", protocol: "TCP", port }),
    "the newcomer's allowed flows are open",
  );
}

/**
 * TCP listeners in the node's own network stack (as sshd and a node service would be), on
 * `host` (`::`: both families).
 */
export function nodeListeners(netns: string, ports: number[], host = "0.0.0.0"): ChildProcess {
  const script = `for (const p of ${JSON.stringify(ports)}) require("node:net").createServer((s) => s.end()).listen(p, ${JSON.stringify(host)});`;
  return spawn("ip", ["netns", "exec", netns, process.execPath, "-e", script], { stdio: "ignore" });
}

/** `conntrack -L ARGS` in `netns` (the node's tracked connections), as text; stderr dropped. */
export const conntrackList = (netns: string, ...args: string[]): string =>
  execFileSync("ip", ["netns", "exec", netns, "conntrack", "-L", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });

export const writeManifests = (file: string, resources: readonly unknown[]) =>
  writeFileSync(file, resources.map((r) => stringify(r)).join("---\n"));

/** What MemoryDataplane says about flows, fed the same events as the kernel's engine. */
export class Expected {
  readonly #engine = new Engine({ node: NODE });
  readonly #memory = new MemoryDataplane();

  apply(events: readonly ResourceEvent[]): void {
    this.#engine.ingest(events);
    this.#memory.applyDeltas(this.#engine.flush());
  }

  allowed(source: string, destination: string, protocol: "TCP" | "UDP", port: number): boolean {
    return this.#memory.verdict({ source, destination, protocol, port, sourcePort: 40000 }).allowed;
  }
}

export interface AgentProcess {
  readonly child: ChildProcess;
  /** Log lines so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

/** `microseg agent` in the node's netns, as an operator (or the lab) runs it. */
export function startAgentProcess(netns: string, args: string[]): AgentProcess {
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, cli, "agent", "--node", NODE, ...args],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const logs: Array<Record<string, unknown>> = [];
  let rest = "";
  child.stderr!.on("data", (b: Buffer) => {
    const lines = (rest + b.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        logs.push({ msg: l });
      }
    }
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, logs, exited };
}

/**
 * The agent on a manifest file for a TestTopology's node: its workload interfaces, the ready
 * file `dir/ready`, no flow logs (another agent's ulogd2 could hold the default flow dir).
 */
export function startTopologyAgent(
  netns: string,
  file: string,
  dir: string,
  extra: string[] = [],
): AgentProcess {
  return startAgentProcess(netns, [
    "-f",
    file,
    "--ready-file",
    join(dir, "ready"),
    "--workload-iface",
    WORKLOAD_IFACES,
    "--pod-iface-prefix",
    POD_IFACE_PREFIX,
    "--no-flows",
    ...extra,
  ]);
}

export async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The node's enforcement in this process, on the topology's node netns (no agent process). */
export function topologyEnforcer(netns: string, revokeDenied: boolean): Enforcer {
  return new Enforcer({
    node: NODE,
    nft: new KernelNftables({ netns }),
    conntrack: new KernelConntrack({ netns }),
    enforcement: {
      ...DEFAULT_ENFORCEMENT,
      workloadInterfaces: [WORKLOAD_IFACES],
      podInterfacePrefix: POD_IFACE_PREFIX,
      revokeDenied,
    },
  });
}
