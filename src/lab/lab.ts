// A lab of nodes and pods as network namespaces on this machine, with servers in every pod and
// probes between them. Pod traffic crosses the node netns's forward path, where microseg's
// nftables table filters it. Everything created is recorded in a state file first and removed
// by down(), also when `up` fails halfway or the process is interrupted.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { registerTeardown, unregisterTeardown } from "./cleanup.ts";
import { ipBatch, listNetns, removeNetnsSync, setupNetns } from "./netns.ts";
import { mapBounded, type ProbeSpec } from "./probe.ts";
import { ProberClient } from "./prober-client.ts";
import type { ProbeOutcome } from "./protocol.ts";
import { defaultStateDir, type LabState, readState, removeState, writeState } from "./state.ts";
import {
  allPods,
  type LabPlan,
  type LabSpec,
  type NodePlan,
  netnsNames,
  nodeSetups,
  type PodPlan,
  planLab,
  podSetups,
  underlaySetup,
} from "./topology.ts";

export interface LabOptions {
  /** 1-8 of [a-z0-9]; random by default. Names every netns: `ms-<id>-...`. */
  id?: string;
  /** Where the state file goes; /run/microseg/lab by default. */
  stateDir?: string;
  /** Interpreter for the SCTP peer; python3 by default. */
  python?: string;
}

export interface ProbeOptions {
  /** Per probe; 1000 ms by default. */
  timeoutMs?: number;
  /** Probes in flight at once, over all pods; 64 by default. */
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

export interface DownReport {
  /** Namespaces that could not be removed. */
  leftover: string[];
}

/** Removes what a state file records: for a lab whose process died without tearing it down. */
export function downFromState(stateFile: string): DownReport {
  const state = readState(stateFile);
  const { leftover } = removeNetnsSync([...state.netns].reverse());
  if (leftover.length === 0) removeState(stateFile);
  return { leftover };
}

export class Lab {
  readonly plan: LabPlan;
  readonly stateFile: string;
  readonly #probers = new Map<string, ProberClient>();
  readonly #teardown = () => this.#removeAll();
  #down = false;

  private constructor(plan: LabPlan, stateFile: string) {
    this.plan = plan;
    this.stateFile = stateFile;
  }

  static async up(spec: LabSpec, opts: LabOptions = {}): Promise<Lab> {
    const id = opts.id ?? randomBytes(4).toString("hex").slice(0, 6);
    const plan = planLab(spec, id);
    // Another lab's namespaces must never be taken for ours and torn down with it.
    const taken = listNetns().filter((n) => n.startsWith(plan.prefix));
    if (taken.length)
      throw new Error(`lab ${id} exists (${taken.join(", ")}); bring it down first`);
    const lab = new Lab(plan, join(opts.stateDir ?? defaultStateDir, `${id}.json`));
    registerTeardown(lab.#teardown);
    try {
      await lab.#create(opts.python ?? "python3");
    } catch (e) {
      lab.down();
      throw e;
    }
    return lab;
  }

  pod(name: string): PodPlan {
    const pod = allPods(this.plan).find((p) => p.name === name);
    if (!pod) throw new Error(`lab ${this.plan.id} has no pod ${name}`);
    return pod;
  }

  node(name: string): NodePlan {
    const node = this.plan.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`lab ${this.plan.id} has no node ${name}`);
    return node;
  }

  async probe(specs: ProbeSpec[], opts: ProbeOptions = {}): Promise<ProbeResult[]> {
    if (this.#down) throw new Error(`lab ${this.plan.id} is down`);
    const timeoutMs = opts.timeoutMs ?? 1000;
    // Unknown pods fail the call before any probe is sent.
    const resolved = specs.map((s) => {
      const family = s.family ?? 4;
      const to = this.pod(s.to);
      return {
        s,
        family,
        prober: this.#probers.get(this.pod(s.from).name)!,
        host: family === 4 ? to.ip : to.ip6,
      };
    });
    return mapBounded(resolved, opts.concurrency ?? 64, async ({ s, family, prober, host }) => {
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

  /** Stops every prober and deletes every namespace of the lab. Safe to call twice. */
  down(): DownReport {
    unregisterTeardown(this.#teardown);
    if (this.#down) return { leftover: [] };
    this.#down = true;
    return this.#removeAll();
  }

  #removeAll(): DownReport {
    for (const prober of this.#probers.values()) prober.close();
    const { leftover } = removeNetnsSync([...netnsNames(this.plan)].reverse());
    if (leftover.length === 0) removeState(this.stateFile);
    return { leftover };
  }

  async #create(python: string): Promise<void> {
    const plan = this.plan;
    const state: LabState = { id: plan.id, prefix: plan.prefix, netns: netnsNames(plan), pids: [] };
    writeState(this.stateFile, state);
    await ipBatch(state.netns.map((n) => `netns add ${n}`));
    await Promise.all(nodeSetups(plan).map((s) => setupNetns(s)));
    await Promise.all([underlaySetup(plan), ...podSetups(plan)].map((s) => setupNetns(s)));
    const pods = allPods(plan);
    const probers = await Promise.allSettled(
      pods.map((p) => ProberClient.start(p.netns, { ports: p.ports, python })),
    );
    probers.forEach((a, i) => {
      if (a.status === "fulfilled") this.#probers.set(pods[i]!.name, a.value);
    });
    const failed = probers.find((a) => a.status === "rejected");
    state.pids = [...this.#probers.values()].map((a) => a.pid);
    writeState(this.stateFile, state);
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
