// A lab of nodes and pods as network namespaces on this machine, with servers in every pod and
// probes between them. Pod traffic crosses the node netns's forward path, where the node agents'
// `inet microseg` tables filter it. Probers and agents are detached processes: a lab outlives
// the process that brought it up, and any process can attach to it by its state directory.
// Everything created is recorded in the state first and removed by down(), also when `up`
// fails halfway or the process is interrupted.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { Resource } from "../model/index.ts";
import {
  type AgentSettings,
  type AgentSource,
  agentName,
  revisions,
  startAgent,
  waitApplied,
  waitReady,
} from "./agents.ts";
import { registerTeardown, unregisterTeardown } from "./cleanup.ts";
import { labManifests, labSpecFromManifests, type ManifestLabOptions } from "./manifests.ts";
import {
  ipBatch,
  isRunning,
  listNetns,
  removeNetnsSync,
  setupNetns,
  waitBridgeForwarding,
} from "./netns.ts";
import { mapBounded, type ProbeSpec } from "./probe.ts";
import { ProberClient } from "./prober-client.ts";
import {
  type Detached,
  detachedNames,
  livePid,
  logTail,
  spawnDetached,
  stopDetached,
} from "./processes.ts";
import type { ProbeOutcome } from "./protocol.ts";
import {
  defaultStateDir,
  LabFiles,
  type LabState,
  labIds,
  readState,
  writeFileAtomic,
  writeState,
} from "./state.ts";
import {
  baseNetns,
  emptyPlan,
  type LabPlan,
  type LabSpec,
  labPrefix,
  type NodePlan,
  nodeSetups,
  type PodPlan,
  type PortSpec,
  planDiff,
  podNetns,
  podRemovals,
  podSetups,
  replan,
  underlaySetup,
} from "./topology.ts";

// From the checkout's root, so the bundle (dist/cli/, as deep as src/lab/) finds the source too.
const proberScript = fileURLToPath(new URL("../../src/lab/prober.ts", import.meta.url));
const tsxLoader = import.meta.resolve("tsx");

export interface LabOptions {
  /** 1-8 of [a-z0-9]; random by default. Names every netns: `ms-<id>-...`. */
  id?: string;
  /** Where lab directories go; /run/microseg/lab by default. */
  stateDir?: string;
  /** Interpreter for the SCTP peer; python3 by default. */
  python?: string;
  /**
   * Manifests for node agents to enforce; their Pods and WorkloadEndpoints must be the spec's
   * pods. Without them no agent runs and every path is open.
   */
  manifests?: readonly Resource[];
  /**
   * Instead of manifests: node agents follow this API server (`microseg agent --server`), and
   * whoever runs the lab writes the pods' nodes and addresses back to the store.
   */
  server?: { readonly url: string; readonly tokenFile?: string };
  /** Ports served besides the manifests', again after every applyManifests. */
  extraPorts?: PortSpec[];
  /** Bounds the wait for probers and agents to come up; 60 s by default. */
  readyTimeoutMs?: number;
  /** For the node agents (a cluster whose pods reach host-network pods on their own node). */
  agents?: AgentSettings;
}

export interface ProbeOptions {
  /** Per probe; 1000 ms by default. A denied probe takes this long. */
  timeoutMs?: number;
  /** Probes in flight at once, over all pods; 512 by default. */
  concurrency?: number;
}

export interface ProbeResult {
  from: string;
  to: string;
  port: number;
  protocol: ProbeSpec["protocol"];
  family: 4 | 6;
  allowed: boolean;
  outcome: ProbeOutcome;
  ms: number;
}

export interface ApplyReport {
  added: string[];
  removed: string[];
}

/** How an agent this process started ended (`Lab.onAgentExit`). */
export interface AgentExit {
  readonly node: string;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DownReport {
  /** Namespaces that could not be removed. */
  leftover: string[];
  /** Detached processes that would not end. */
  processes: string[];
}

/**
 * Waits for every task, then throws the first failure: teardown must not start while another
 * task is still creating things it would miss.
 */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(tasks)).find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

const proberName = (plan: LabPlan, netns: string) => `prober-${netns.slice(plan.prefix.length)}`;

/** Tears down a lab from its directory: the one way down, for this process's labs or others'. */
export function downLab(files: LabFiles): DownReport {
  let state: LabState | undefined;
  try {
    state = readState(files);
  } catch {
    // no state (or a broken one): the lab's namespaces are still known by their prefix
  }
  const id = state?.id ?? files.dir.split("/").pop()!;
  const processes = stopDetached(files, detachedNames(files));
  const prefix = labPrefix(id);
  const names = [
    ...new Set([...(state?.netns ?? []), ...listNetns().filter((n) => n.startsWith(prefix))]),
  ];
  const { leftover } = removeNetnsSync(names.reverse());
  if (leftover.length === 0 && processes.length === 0)
    rmSync(files.dir, { recursive: true, force: true });
  return { leftover, processes };
}

/** The lab to act on: the one with `id`, or the only lab in `stateDir`. */
export function findLab(stateDir = defaultStateDir, id?: string): LabFiles {
  if (id !== undefined) {
    const files = LabFiles.of(stateDir, id);
    // A lab whose state was lost still has namespaces with its prefix for `down` to remove.
    if (!existsSync(files.dir) && !listNetns().some((n) => n.startsWith(labPrefix(id))))
      throw new Error(`no lab ${id} in ${stateDir}`);
    return files;
  }
  const ids = labIds(stateDir);
  if (ids.length !== 1) {
    throw new Error(
      ids.length === 0
        ? `no lab in ${stateDir}`
        : `${ids.length} labs in ${stateDir} (${ids.join(", ")}): name one with --id`,
    );
  }
  return LabFiles.of(stateDir, ids[0]!);
}

export class Lab {
  readonly files: LabFiles;
  #state: LabState;
  readonly #probers = new Map<string, ProberClient>();
  readonly #python: string;
  readonly #readyTimeoutMs: number;
  readonly #teardown = () => {
    this.#closeProbers();
    downLab(this.files);
  };
  #down = false;
  /** What this process's agents enforce and how they run, to start one again the same way. */
  readonly #agentSource: AgentSource | undefined;
  readonly #agentSettings: AgentSettings | undefined;
  readonly #agentExitListeners = new Set<(exit: AgentExit) => void>();

  private constructor(files: LabFiles, state: LabState, opts: LabOptions) {
    this.files = files;
    this.#state = state;
    this.#python = opts.python ?? "python3";
    this.#readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
    this.#agentSource = opts.manifests
      ? { manifests: files.manifestsDir }
      : opts.server
        ? {
            server: opts.server.url,
            ...(opts.server.tokenFile ? { tokenFile: opts.server.tokenFile } : {}),
          }
        : undefined;
    this.#agentSettings = opts.agents;
  }

  get plan(): LabPlan {
    return this.#state.plan;
  }

  get id(): string {
    return this.#state.id;
  }

  /**
   * Creates the lab and returns once every prober serves and every agent is ready. Until
   * down() or detach(), this process tears the lab down if it is interrupted or exits.
   */
  static async up(spec: LabSpec, opts: LabOptions = {}): Promise<Lab> {
    const id = opts.id ?? randomBytes(4).toString("hex").slice(0, 6);
    const stateDir = opts.stateDir ?? defaultStateDir;
    const plan = replan(emptyPlan(spec.nodes, id), spec.pods, spec.ports);
    const copy = opts.manifests ? labManifests(opts.manifests, plan) : undefined;
    // Another lab's namespaces must never be taken for ours and torn down with it.
    const taken = listNetns().filter((n) => n.startsWith(plan.prefix));
    const files = LabFiles.of(stateDir, id);
    if (taken.length || existsSync(files.dir))
      throw new Error(
        `lab ${id} exists (${[...taken, files.dir].join(", ")}); bring it down first`,
      );
    files.create();
    const state: LabState = {
      id,
      plan,
      netns: [...baseNetns(plan), ...podNetns(plan.pods)],
      extraPorts: opts.extraPorts ?? [],
      enforce: copy !== undefined || opts.server !== undefined,
      ...(opts.server ? { server: opts.server.url } : {}),
    };
    writeState(files, state);
    const lab = new Lab(files, state, opts);
    registerTeardown(lab.#teardown);
    try {
      await ipBatch(baseNetns(plan).map((n) => `netns add ${n}`));
      await settleAll(nodeSetups(plan).map((s) => setupNetns(s)));
      await setupNetns(underlaySetup(plan));
      await settleAll([
        waitBridgeForwarding(plan.underlayNetns, "br0", plan.nodes.length),
        lab.#addPods(plan, plan.pods),
      ]);
      if (copy) lab.#writeManifests(copy);
      if (state.enforce) {
        for (const node of plan.nodes) lab.#startAgent(node);
        await waitReady(files, plan, lab.#readyTimeoutMs);
      }
    } catch (e) {
      const { leftover, processes } = lab.down();
      const left = [...leftover, ...processes];
      if (left.length) (e as Error).message += `; teardown left ${left.join(", ")}`;
      throw e;
    }
    return lab;
  }

  /** A lab for a manifest set: a pod per Pod and WorkloadEndpoint, agents enforcing the set. */
  static upFromManifests(
    resources: readonly Resource[],
    opts: LabOptions & ManifestLabOptions = {},
  ): Promise<Lab> {
    const spec = labSpecFromManifests(resources, opts);
    return Lab.up(spec, { ...opts, manifests: resources, extraPorts: [...(opts.ports ?? [])] });
  }

  /** A lab another process brought up. This process does not tear it down on exit. */
  static attach(files: LabFiles, opts: Pick<LabOptions, "python" | "readyTimeoutMs"> = {}): Lab {
    return new Lab(files, readState(files), opts);
  }

  pod(name: string): PodPlan {
    const pod = this.plan.pods.find((p) => p.name === name);
    if (!pod) throw new Error(`lab ${this.id} has no pod ${name}`);
    return pod;
  }

  node(name: string): NodePlan {
    const node = this.plan.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`lab ${this.id} has no node ${name}`);
    return node;
  }

  async probe(specs: readonly ProbeSpec[], opts: ProbeOptions = {}): Promise<ProbeResult[]> {
    if (this.#down) throw new Error(`lab ${this.id} is down`);
    const timeoutMs = opts.timeoutMs ?? 1000;
    // Unknown pods fail the call before any probe is sent.
    const resolved = specs.map((s) => {
      const family = s.family ?? 4;
      const to = this.pod(s.to);
      return { s, family, netns: this.pod(s.from).netns, host: family === 4 ? to.ip : to.ip6 };
    });
    for (const netns of new Set(resolved.map((r) => r.netns))) await this.#prober(netns);
    return mapBounded(resolved, opts.concurrency ?? 512, async ({ s, family, netns, host }) => {
      const prober = await this.#prober(netns);
      const reply = await prober.probe({ protocol: s.protocol, host, port: s.port, timeoutMs });
      return {
        from: s.from,
        to: s.to,
        port: s.port,
        protocol: s.protocol,
        family,
        allowed: reply.outcome === "connected",
        outcome: reply.outcome,
        ms: reply.ms,
      };
    });
  }

  /**
   * Brings the running lab in line with a new spec on the same nodes: removed pods go with
   * their netns and prober, new pods come up, every prober serves the new ports, and with
   * manifests, returns once every agent has applied them.
   */
  async apply(spec: LabSpec, manifests?: readonly Resource[]): Promise<ApplyReport> {
    if (this.#down) throw new Error(`lab ${this.id} is down`);
    const current = this.plan;
    const nodes = current.nodes.map((n) => n.name);
    if (spec.nodes.join("\n") !== nodes.join("\n"))
      throw new Error(`lab ${this.id} runs nodes ${nodes.join(", ")}; apply cannot change them`);
    const wantsManifests = this.#state.enforce && this.#state.server === undefined;
    if ((manifests !== undefined) !== wantsManifests)
      throw new Error(`lab ${this.id} ${wantsManifests ? "needs" : "runs without"} manifests`);
    const next = replan(current, spec.pods, spec.ports);
    const copy = manifests ? labManifests(manifests, next) : undefined;
    const { added, removed } = planDiff(current, next);
    const before = copy ? revisions(this.files, current) : undefined;
    this.#state.netns = [...new Set([...this.#state.netns, ...podNetns(added)])];
    writeState(this.files, this.#state);
    await this.#removePods(current, next, removed);
    const portsChanged = JSON.stringify(current.ports) !== JSON.stringify(next.ports);
    const kept = new Set(next.pods.filter((p) => !added.includes(p)).map((p) => p.netns));
    if (portsChanged)
      await Promise.all([...kept].map(async (ns) => (await this.#prober(ns)).serve(next.ports)));
    await this.#addPods(next, added);
    this.#state.plan = next;
    writeState(this.files, this.#state);
    // Agents have applied the file on disk already (up and apply wait for them); the same text
    // again would give them nothing to do and the wait nothing to see.
    if (copy && before && this.#writeManifests(copy))
      await waitApplied(this.files, next, before, this.#readyTimeoutMs);
    return { added: added.map((p) => p.name), removed: removed.map((p) => p.name) };
  }

  /** apply() for a manifest set, with the lab's nodes and the ports asked for at up. */
  applyManifests(resources: readonly Resource[]): Promise<ApplyReport> {
    const spec = labSpecFromManifests(resources, {
      nodes: this.plan.nodes.map((n) => n.name),
      ports: this.#state.extraPorts,
    });
    return this.apply(spec, resources);
  }

  /** Where the lab's copy of the manifests lives, for `microseg matrix -f`. */
  get manifestsPath(): string | undefined {
    return this.#state.enforce && !this.#state.server ? this.files.manifests : undefined;
  }

  /** The API server the agents follow, when they follow one. */
  get server(): string | undefined {
    return this.#state.server;
  }

  /** Every agent's enforced revision (-1 before its first status), by node name. */
  agentRevisions(): Map<string, number> {
    return revisions(this.files, this.plan);
  }

  /** Whether the lab's record is still there: `lab down` from any process removes it. */
  exists(): boolean {
    return !this.#down && existsSync(this.files.state);
  }

  /**
   * Calls back when an agent this process started (or restarted) exits while the lab is up;
   * returns the unsubscribe. The node's table stays in the kernel meanwhile.
   */
  onAgentExit(listener: (exit: AgentExit) => void): () => void {
    this.#agentExitListeners.add(listener);
    return () => this.#agentExitListeners.delete(listener);
  }

  /**
   * Starts the node's agent again, as it was started at up (same source and settings), after
   * it exited. The new agent finds the node's table in the kernel and keeps it until its own
   * first sync replaces it in one transaction.
   */
  restartAgent(nodeName: string): number {
    if (this.#down) throw new Error(`lab ${this.id} is down`);
    const node = this.node(nodeName);
    const running = livePid(this.files, agentName(this.plan, node));
    if (running !== undefined)
      throw new Error(`the agent on ${nodeName} still runs (pid ${running})`);
    return this.#startAgent(node).pid;
  }

  /** Leaves the lab running for other processes: closes connections, keeps no teardown. */
  detach(): void {
    unregisterTeardown(this.#teardown);
    this.#closeProbers();
  }

  /** Stops every process and deletes every namespace and file of the lab. Safe to call twice. */
  down(): DownReport {
    unregisterTeardown(this.#teardown);
    if (this.#down) return { leftover: [], processes: [] };
    this.#down = true;
    this.#closeProbers();
    return downLab(this.files);
  }

  #startAgent(node: NodePlan): Detached {
    if (!this.#agentSource) throw new Error(`lab ${this.id} runs no agents`);
    const child = startAgent(this.files, this.plan, node, this.#agentSource, this.#agentSettings);
    // The agent is detached, but its exit still reaches the process that spawned it.
    child.once("exit", (code, signal) => {
      if (this.#down) return;
      const exit = { node: node.name, pid: child.pid, code, signal };
      for (const listener of this.#agentExitListeners) listener(exit);
    });
    return child;
  }

  #closeProbers(): void {
    for (const p of this.#probers.values()) p.close();
    this.#probers.clear();
  }

  async #prober(netns: string): Promise<ProberClient> {
    let client = this.#probers.get(netns);
    if (!client) {
      client = await ProberClient.connect(this.files.socket(proberName(this.plan, netns)));
      this.#probers.set(netns, client);
    }
    return client;
  }

  /** Writes the agents' copy; false when it already says the same. */
  #writeManifests(resources: readonly Resource[]): boolean {
    const text = resources.map((r) => stringify(r)).join("---\n");
    if (existsSync(this.files.manifests) && readFileSync(this.files.manifests, "utf8") === text)
      return false;
    writeFileAtomic(this.files.manifests, text);
    return true;
  }

  /** Namespaces, links, addresses and routes for `pods`, then a prober in each new netns. */
  async #addPods(plan: LabPlan, pods: PodPlan[]): Promise<void> {
    const own = podNetns(pods);
    if (own.length) await ipBatch(own.map((n) => `netns add ${n}`));
    const setups = podSetups(plan, pods);
    await settleAll(setups.nodes.map((s) => setupNetns(s)));
    await settleAll(setups.pods.map((s) => setupNetns(s)));
    // A host-network pod shares its node's prober; the node gets one with its first such pod.
    const netns = [...new Set(pods.map((p) => p.netns))].filter(
      (ns) => livePid(this.files, proberName(plan, ns)) === undefined,
    );
    await settleAll(netns.map((ns) => this.#startProber(plan, ns)));
  }

  async #startProber(plan: LabPlan, netns: string): Promise<void> {
    const name = proberName(plan, netns);
    const socket = this.files.socket(name);
    const config = { socket, ports: plan.ports, python: this.#python };
    const { pid } = spawnDetached(this.files, name, netns, [
      process.execPath,
      "--import",
      tsxLoader,
      proberScript,
      JSON.stringify(config),
    ]);
    try {
      const client = await ProberClient.whenReady(
        socket,
        () => isRunning(pid),
        this.#readyTimeoutMs,
      );
      this.#probers.set(netns, client);
    } catch (e) {
      throw new Error(`prober in ${netns} ${(e as Error).message}: ${logTail(this.files, name)}`);
    }
  }

  async #removePods(current: LabPlan, next: LabPlan, pods: PodPlan[]): Promise<void> {
    if (pods.length === 0) return;
    // The node prober stays while the node still has a host-network pod.
    const stillUsed = new Set(next.pods.map((p) => p.netns));
    const netns = [...new Set(pods.map((p) => p.netns))].filter((ns) => !stillUsed.has(ns));
    for (const ns of netns) {
      this.#probers.get(ns)?.close();
      this.#probers.delete(ns);
    }
    const stuck = stopDetached(
      this.files,
      netns.map((ns) => proberName(current, ns)),
    );
    if (stuck.length) throw new Error(`probers would not stop: ${stuck.join(", ")}`);
    await Promise.all(podRemovals(current, pods).map((s) => setupNetns(s, true)));
    const own = podNetns(pods);
    const { leftover } = removeNetnsSync(own);
    if (leftover.length) throw new Error(`could not delete ${leftover.join(", ")}`);
    this.#state.netns = this.#state.netns.filter((n) => !own.includes(n));
    writeState(this.files, this.#state);
  }
}
