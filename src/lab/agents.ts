// The node agents of a lab: `microseg agent` runs detached in every node netns, enforces the
// lab's copy of the manifests (or what an API server holds) there, and reports through a ready file and a status file that
// the lab waits on.

import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AgentStatus } from "../agent/index.ts";
import { NODE_FLAGS } from "../util/node-flags.ts";
import { type Detached, livePid, logTail, spawnDetached } from "./processes.ts";
import type { LabFiles } from "./state.ts";
import { LAB_POD_IFACE_PREFIX, type LabPlan, type NodePlan } from "./topology.ts";

const cli = fileURLToPath(new URL("../../bin/microseg.js", import.meta.url));

/** The node side of every pod's veth starts with the lab's prefix. */
export const workloadIfacePattern = `${LAB_POD_IFACE_PREFIX}*`;

const key = (plan: LabPlan, node: NodePlan) => node.netns.slice(plan.prefix.length);
export const agentName = (plan: LabPlan, node: NodePlan) => `agent-${key(plan, node)}`;

function statusFile(files: LabFiles, plan: LabPlan, node: NodePlan): string {
  return files.agentStatus(key(plan, node));
}

/** What the agents enforce: the lab's manifest copy, or what an API server holds. */
export type AgentSource =
  | { readonly manifests: string }
  | { readonly server: string; readonly tokenFile?: string };

function sourceArgs(source: AgentSource): string[] {
  if ("manifests" in source) return ["-f", source.manifests];
  return [
    "--server",
    source.server,
    ...(source.tokenFile ? ["--token-file", source.tokenFile] : []),
  ];
}

/** Agent settings a lab may choose; the agent's defaults otherwise. */
export interface AgentSettings {
  /** `--endpoint-to-host`: what follows a workload's egress allow towards its own node. */
  readonly endpointToHost?: "Drop" | "Accept" | "Return";
  /** `--flow-interval`: a test waiting for flow records closes intervals sooner than 15 s. */
  readonly flowInterval?: string;
}

/** Starts the node's agent (detached); its ready and status files are the new agent's to write. */
export function startAgent(
  files: LabFiles,
  plan: LabPlan,
  node: NodePlan,
  source: AgentSource,
  settings: AgentSettings = {},
): Detached {
  // An agent following a server on this machine's loopback runs here and writes its node's
  // ruleset through `ip netns exec`; the node netns has a loopback of its own.
  const here = !("manifests" in source);
  // What an earlier agent of the node left says nothing about this one: a wait for readiness
  // must see this agent's.
  rmSync(files.agentReady(key(plan, node)), { force: true });
  rmSync(statusFile(files, plan, node), { force: true });
  return spawnDetached(files, agentName(plan, node), here ? undefined : node.netns, [
    process.execPath,
    ...NODE_FLAGS,
    cli,
    "agent",
    "--node",
    node.name,
    ...(here ? ["--netns", node.netns] : []),
    ...sourceArgs(source),
    "--ready-file",
    files.agentReady(key(plan, node)),
    "--status-file",
    statusFile(files, plan, node),
    "--workload-iface",
    workloadIfacePattern,
    "--pod-iface-prefix",
    LAB_POD_IFACE_PREFIX,
    "--flow-dir",
    files.agentFlowDir(key(plan, node)),
    ...("manifests" in source ? ["--flow-log", files.agentFlowLog(key(plan, node))] : []),
    // The lab waits on every change; a short poll keeps each wait short.
    ...("manifests" in source ? ["--poll-interval", "50ms"] : []),
    ...(settings.endpointToHost ? ["--endpoint-to-host", settings.endpointToHost] : []),
    ...(settings.flowInterval ? ["--flow-interval", settings.flowInterval] : []),
  ]);
}

export function readStatus(
  files: LabFiles,
  plan: LabPlan,
  node: NodePlan,
): AgentStatus | undefined {
  try {
    return JSON.parse(readFileSync(statusFile(files, plan, node), "utf8")) as AgentStatus;
  } catch {
    return undefined;
  }
}

/**
 * Waits until `done` holds for every node's agent, polling; fails early, with the agent's log,
 * when one exits, and after `timeoutMs` otherwise.
 */
async function waitAll(
  files: LabFiles,
  plan: LabPlan,
  what: string,
  done: (node: NodePlan) => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = plan.nodes;
  for (;;) {
    waiting = waiting.filter((n) => !done(n));
    if (waiting.length === 0) return;
    for (const node of waiting) {
      const name = agentName(plan, node);
      if (livePid(files, name) === undefined)
        throw new Error(`agent on ${node.name} exited before ${what}: ${logTail(files, name)}`);
    }
    if (Date.now() > deadline) {
      const why = waiting.map((n) => {
        const error = readStatus(files, plan, n)?.lastError;
        return error ? `${n.name} (${error})` : n.name;
      });
      throw new Error(`agents on ${why.join(", ")} not ${what} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function waitReady(files: LabFiles, plan: LabPlan, timeoutMs = 60_000): Promise<void> {
  return waitAll(
    files,
    plan,
    "ready",
    (n) => existsSync(files.agentReady(key(plan, n))),
    timeoutMs,
  );
}

/** Every agent's revision now, to tell a later apply from the ones before. */
export function revisions(files: LabFiles, plan: LabPlan): Map<string, number> {
  return new Map(plan.nodes.map((n) => [n.name, readStatus(files, plan, n)?.revision ?? -1]));
}

/** Waits until every agent reports a revision after `before`: it applied the new manifests. */
export function waitApplied(
  files: LabFiles,
  plan: LabPlan,
  before: Map<string, number>,
  timeoutMs = 60_000,
): Promise<void> {
  return waitAll(
    files,
    plan,
    "applied",
    (n) => (readStatus(files, plan, n)?.revision ?? -1) > (before.get(n.name) ?? -1),
    timeoutMs,
  );
}
