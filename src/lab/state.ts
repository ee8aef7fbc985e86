// A lab's directory: the record of what it created, written before each step so that teardown
// finds everything even after a crash halfway through, plus the files its detached processes
// use. One directory per lab under the state dir:
//
//   <stateDir>/<id>/state.json          LabState: plan, every netns made or about to be made
//   <stateDir>/<id>/manifests/lab.yaml  the manifests as the lab runs them (agents watch it)
//   <stateDir>/<id>/pids/<name>.pid     one per detached process (prober-p3, agent-n0, ...)
//   <stateDir>/<id>/sockets/<name>.sock a prober's control socket
//   <stateDir>/<id>/agents/<node>.*     an agent's ready file and status JSON (n0.ready, ...)
//   <stateDir>/<id>/logs/<name>.log     stdout and stderr of a detached process

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { LabPlan, PortSpec } from "./topology.ts";

export interface LabState {
  id: string;
  plan: LabPlan;
  /** Namespaces the lab created or was about to create, in creation order. */
  netns: string[];
  /** Ports asked for besides the manifests' (`--ports` at up), served again after each apply. */
  extraPorts: PortSpec[];
  /** Whether node agents enforce the manifests in the node namespaces. */
  enforce: boolean;
  /** Agents follow this API server instead of the lab's manifest copy (`microseg up`). */
  server?: string;
}

export const defaultStateDir = "/run/microseg/lab";

export class LabFiles {
  constructor(readonly dir: string) {}

  static of(stateDir: string, id: string): LabFiles {
    return new LabFiles(join(stateDir, id));
  }

  get state(): string {
    return join(this.dir, "state.json");
  }
  get manifestsDir(): string {
    return join(this.dir, "manifests");
  }
  get manifests(): string {
    return join(this.manifestsDir, "lab.yaml");
  }
  get pidsDir(): string {
    return join(this.dir, "pids");
  }
  pid(name: string): string {
    return join(this.pidsDir, `${name}.pid`);
  }
  socket(name: string): string {
    return join(this.dir, "sockets", `${name}.sock`);
  }
  agentReady(node: string): string {
    return join(this.dir, "agents", `${node}.ready`);
  }
  agentStatus(node: string): string {
    return join(this.dir, "agents", `${node}.status.json`);
  }
  /** ulogd2's config, output and log for a node's agent. */
  agentFlowDir(node: string): string {
    return join(this.dir, "agents", `${node}.flows`);
  }
  /** Flow records and alerts of a node's agent as JSON lines, when it follows manifests. */
  agentFlowLog(node: string): string {
    return join(this.dir, "agents", `${node}.flows.jsonl`);
  }
  log(name: string): string {
    return join(this.dir, "logs", `${name}.log`);
  }

  /** Creates the directories; the sockets' path must fit a sockaddr_un. */
  create(): void {
    if (this.socket("prober-p99999").length > 100)
      throw new Error(`state dir ${this.dir} is too deep for unix socket paths`);
    for (const sub of ["manifests", "pids", "sockets", "agents", "logs"])
      mkdirSync(join(this.dir, sub), { recursive: true });
  }
}

export function writeState(files: LabFiles, state: LabState): void {
  writeFileAtomic(files.state, `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(files: LabFiles): LabState {
  return JSON.parse(readFileSync(files.state, "utf8")) as LabState;
}

/** Readers (agents, other commands) see the old file or the new one, never half of one. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Ids of the labs that have a directory under `stateDir`. */
export function labIds(stateDir: string): string[] {
  if (!existsSync(stateDir)) return [];
  return readdirSync(stateDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^[a-z0-9]{1,8}$/.test(e.name))
    .map((e) => e.name)
    .sort();
}
