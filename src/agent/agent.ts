// The node agent: a resource source in, the node's nftables table out.
//
//   start:  start-up table (unless microseg's table is there) -> snapshot -> full sync -> ready
//   then:   source batch -> engine -> one transaction; a failed one is retried as a full
//           resync with backoff (the kernel keeps the previous ruleset meanwhile)
//   timer:  drift check against the engine's state -> full resync when the table drifted
//   flows:  the same batches go to the flow logs (src/flows, owned here) before the engine, so
//           a record is attributed to the workloads the kernel was just told about; policy
//           counters are read from the table on a timer, which also republishes the status
//   stop:   the table stays: the kernel keeps enforcing the last state (fail closed)
//
// Every step runs on one queue, so a batch, a retry and a drift repair never interleave;
// batches that pile up behind a running apply go to the kernel as one transaction.

import type { Attachment, CniAnswer, PodRef } from "../cni/wire.ts";
import { CNI_ERRORS } from "../cni/wire.ts";
import type { Conntrack } from "../dataplane/conntrack.ts";
import { bridgeTransaction, type EnforcementConfig } from "../dataplane/nftables/index.ts";
import { type ResourceSource, type SourceBatch, SourceError } from "../datastore/index.ts";
import type { ResourceEvent } from "../engine/index.ts";
import { resourceKey } from "../model/index.ts";
import type { Nftables } from "../nft/index.ts";
import { Backoff, type BackoffOptions } from "../util/backoff.ts";
import { type CniWorkloads, l3Interface, podName, podUpsert } from "./cni-workloads.ts";
import { type ApplyResult, Enforcer } from "./enforcer.ts";
import type { AgentFlowsPart } from "./flows.ts";
import type { HostInterfaceSource } from "./host-interfaces.ts";
import type { Logger } from "./logger.ts";
import {
  type AgentStatus,
  type PolicyCounter,
  readyFileWriter,
  type StatusListener,
  statusFileWriter,
} from "./status.ts";

export interface AgentOptions {
  readonly node: string;
  readonly source: ResourceSource;
  readonly nft: Nftables;
  readonly enforcement: EnforcementConfig;
  /** Deletes connection entries of addresses that left their endpoint. */
  readonly conntrack?: Conntrack;
  readonly log: Logger;
  /** Period of the drift check; 0 turns it off. */
  readonly resyncIntervalMs: number;
  /** Shorthands for subscribing the ready and status file writers (status.ts). */
  readonly readyFile?: string;
  readonly statusFile?: string;
  /**
   * Waits between retries of a failed apply: 250 ms doubling to 10 s by default, jittered as
   * util/Backoff does (agents of nodes that failed together do not resync in step).
   */
  readonly retryMs?: BackoffOptions;
  /** Flow logs on this node (or why there are none), reported in the status' `flows`. */
  readonly flows?: AgentFlowsPart;
  /**
   * How often the policy chains' counters are read and the status republished (flow health
   * changes between applies); 0 or unset: never.
   */
  readonly countersIntervalMs?: number;
  /**
   * The node's interfaces and addresses, which bind host endpoints found by their expectedIPs;
   * without it no interface is known and those are bound to their addresses alone.
   */
  readonly hostInterfaces?: HostInterfaceSource;
  /** Sandboxes reported by the CNI plugin (cni-workloads.ts), and the ADD-to-enforced sink. */
  readonly cni?: {
    readonly workloads: CniWorkloads;
    readonly onEnforced?: (seconds: number) => void;
  };
}

export class Agent {
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  readonly #enforcer: Enforcer;
  readonly #keys = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();
  #watch: { stop(): void } | undefined;
  #interfacesWatch: { stop(): void } | undefined;
  /** A re-read of the node's interfaces is queued and has not started yet. */
  #interfacesQueued = false;
  #driftTimer: NodeJS.Timeout | undefined;
  #countersTimer: NodeJS.Timeout | undefined;
  #counters: { readonly at: string; readonly values: PolicyCounter[] } | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #retry: Backoff;
  /** Revision of the last batch fed to the engine, and of the one the kernel enforces. */
  #received = 0;
  #applied = 0;
  #appliedAt: string | undefined;
  #ready = false;
  #fullSyncs = 0;
  /** Why the source's latest state is not enforced, and why the last apply failed. */
  #sourceError: string | undefined;
  #applyError: string | undefined;
  #drift: AgentStatus["drift"];
  #stopped = false;
  #waiting: { events: ResourceEvent[]; revision: number } | undefined;
  readonly #listeners = new Set<StatusListener>();
  /** Called after every batch and apply: CNI requests waiting for their pod or for ready. */
  readonly #changed = new Set<() => void>();
  readonly #startedAt = new Date().toISOString();

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#enforcer = new Enforcer(opts);
    this.#retry = new Backoff(opts.retryMs ?? { first: 250, max: 10_000 });
    if (opts.statusFile) this.onStatus(statusFileWriter(opts.statusFile));
    if (opts.readyFile) this.onStatus(readyFileWriter(opts.readyFile));
  }

  /** Calls back with the status after every change of it; returns the unsubscribe. */
  onStatus(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once the agent runs: fail-closed table in place, first sync done or pending. */
  async start(): Promise<void> {
    // Capture starts beside enforcement, never in front of it.
    const flowsStarted = this.#opts.flows?.start();
    const boot = await this.#enforcer.bootstrap();
    this.#log.info(boot === "installed" ? "start-up table installed" : "existing table kept", {
      table: this.#opts.enforcement.table,
    });
    // Ports of workload bridges are closed unless a reported sandbox holds them.
    if (this.#opts.cni) {
      for (const a of this.#opts.cni.workloads.all())
        this.#enforcer.setPodInterface(podName(a.pod), l3Interface(a));
      await this.#enforcer.runOther(this.#bridgeTable());
    }
    // Bound before the first full sync, so it already holds each host endpoint's interfaces;
    // watched first, so a change during the read is read again after it.
    const interfaces = this.#opts.hostInterfaces;
    if (interfaces) {
      this.#interfacesWatch = interfaces.watch(() => this.#rebindInterfaces());
      try {
        this.#enforcer.setHostInterfaces(await interfaces.read());
      } catch (e) {
        this.#log.error("node interfaces not read; host endpoints bound to their addresses", {
          error: e,
        });
      }
    }
    try {
      const snap = await this.#opts.source.snapshot();
      const events = snap.resources.map(
        (resource): ResourceEvent => ({ type: "upsert", resource, revision: snap.revision }),
      );
      await this.#enqueue(() => this.#sync(events, snap.revision));
    } catch (e) {
      if (!(e instanceof SourceError)) throw e;
      this.#rejected(e);
    }
    this.#watch = this.#opts.source.watch({
      onBatch: (batch) => this.#coalesce(batch),
      onError: (e) => void this.#enqueue(async () => this.#rejected(e)),
    });
    if (this.#opts.resyncIntervalMs > 0) {
      this.#driftTimer = setInterval(() => void this.checkDrift(), this.#opts.resyncIntervalMs);
    }
    if (this.#opts.countersIntervalMs) {
      this.#countersTimer = setInterval(
        () => void this.readCounters(),
        this.#opts.countersIntervalMs,
      );
    }
    await flowsStarted;
    this.#publish();
  }

  /**
   * The node's addresses may have changed: reads them on the queue and applies what moves.
   * Changes arriving before the queued read starts are covered by it.
   */
  #rebindInterfaces(): void {
    if (this.#interfacesQueued) return;
    this.#interfacesQueued = true;
    void this.#enqueue(async () => {
      this.#interfacesQueued = false;
      const interfaces = await this.#opts.hostInterfaces!.read();
      if (!this.#enforcer.setHostInterfaces(interfaces) || !this.#ready) return;
      await this.#attempt(() => this.#enforcer.enforce([]), "host interfaces");
    });
  }

  /** Reads the policy chains' counters into the status and publishes it. */
  readCounters(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#ready) {
        this.#counters = {
          at: new Date().toISOString(),
          values: await this.#enforcer.policyCounters(),
        };
      }
      this.#publish();
    });
  }

  /** Compares the live table with the engine's state and repairs it in one transaction. */
  checkDrift(): Promise<void> {
    return this.#enqueue(async () => {
      if (!this.#ready) return;
      const report = await this.#enforcer.drift();
      // The bridge table holds the L2 half of pods' isolation: checked and repaired alike.
      const bridge = this.#opts.cni
        ? await this.#enforcer.bridgeDrift(this.#opts.cni.workloads.bridgePorts())
        : undefined;
      this.#drift = {
        checkedAt: new Date().toISOString(),
        objects: [
          ...report.objects.map((o) => o.object),
          ...(bridge?.objects.map((o) => `bridge ${o.object}`) ?? []),
        ],
      };
      if (bridge && !bridge.inSync) {
        this.#log.warn("bridge table drifted; rewriting it", { drift: bridge.objects });
        await this.#enforcer.runOther(this.#bridgeTable());
      }
      if (report.inSync) {
        this.#log.debug("no drift");
        this.#publish();
        return;
      }
      this.#log.warn("table drifted; repairing", { drift: report.objects });
      await this.#attempt(() => this.#enforcer.resync(), "drift repair");
    });
  }

  // CNI: each request waits (bounded by its timeout) for the agent to be ready and the pod to
  // be in its source, then runs on the agent's queue like a batch, so it never interleaves
  // with another apply, and answers only once the transactions are committed.

  /** ADD: binds the sandbox to its pod and returns once its rules are live in the kernel. */
  async cniAdd(a: Attachment, timeoutMs: number): Promise<CniAnswer> {
    const cni = this.#cniPart();
    const t0 = performance.now();
    const name = podName(a.pod);
    const seen = await this.#until(() => {
      const pod = cni.workloads.pod(a.pod);
      return this.#ready && pod?.spec.nodeName === this.#opts.node;
    }, timeoutMs);
    if (!seen) {
      const pod = cni.workloads.pod(a.pod);
      const why = !this.#ready
        ? "the agent has not applied its first full sync"
        : !pod
          ? `pod ${name} is not in the agent's source`
          : `pod ${name} is bound to node ${JSON.stringify(pod.spec.nodeName ?? "")}, not ${this.#opts.node}`;
      return refusal(CNI_ERRORS.notConfirmed, `not enforced within ${timeoutMs} ms: ${why}`);
    }
    let live = false;
    await this.#enqueue(async () => {
      const previous = cni.workloads.attached(a.pod);
      cni.workloads.attach(a);
      if (a.bridge) await this.#enforcer.runOther(this.#bridgeTable());
      this.#enforcer.setPodInterface(name, l3Interface(a));
      const pod = cni.workloads.pod(a.pod)!;
      live = await this.#attempt(
        () => this.#enforcer.enforce([podUpsert(pod, this.#received)]),
        `cni add ${name}`,
      );
      // A replaced sandbox on another bridge leaves its old port behind until now.
      if (live && previous?.bridge && !a.bridge) await this.#enforcer.runOther(this.#bridgeTable());
    });
    const ep = this.#enforcer.endpoint(name);
    const bound =
      ep?.interfaceName === l3Interface(a) && a.addresses.every((x) => ep.addresses.includes(x));
    if (!live || !bound)
      return refusal(
        CNI_ERRORS.refused,
        `pod ${name} could not be enforced`,
        this.#applyError ?? "the engine did not make it a local endpoint",
      );
    const ms = performance.now() - t0;
    cni.onEnforced?.(ms / 1000);
    this.#log.info("cni add enforced", { pod: name, containerId: a.containerId, ms });
    return { ok: true, revision: this.#applied, enforcedMs: ms };
  }

  /** DEL: forgets the sandbox (its rules, bridge port and connection entries). */
  async cniDel(containerId: string, pod: PodRef | undefined): Promise<CniAnswer> {
    const cni = this.#cniPart();
    const a = cni.workloads.byContainer(containerId);
    if (!a || (pod && podName(pod) !== podName(a.pod)))
      return { ok: true, revision: this.#applied };
    let done = false;
    await this.#enqueue(async () => {
      const name = podName(a.pod);
      cni.workloads.detach(a);
      this.#enforcer.setPodInterface(name, undefined);
      const stored = cni.workloads.pod(a.pod);
      done = await this.#attempt(
        () => this.#enforcer.enforce(stored ? [podUpsert(stored, this.#received)] : []),
        `cni del ${name}`,
      );
      if (done && a.bridge) await this.#enforcer.runOther(this.#bridgeTable());
    });
    if (!done) return refusal(CNI_ERRORS.tryAgainLater, "delete not applied", this.#applyError);
    this.#log.info("cni del done", { pod: podName(a.pod), containerId });
    return { ok: true, revision: this.#applied };
  }

  /** CHECK: the sandbox is bound and its source pairs are in the kernel's tables. */
  async cniCheck(containerId: string, pod: PodRef): Promise<CniAnswer> {
    const cni = this.#cniPart();
    const a = cni.workloads.attached(pod);
    if (!a || a.containerId !== containerId)
      return refusal(
        CNI_ERRORS.unknownContainer,
        `sandbox ${containerId} of ${podName(pod)} is not known to the agent`,
      );
    const missing: string[] = [];
    await this.#enqueue(async () => {
      const has = async (family: "inet" | "bridge", iface: string) => {
        const table = await this.#enforcer.read(family);
        for (const x of a.addresses) {
          const set = table?.sets.find((s) => s.name === (x.includes(":") ? "src6" : "src4"));
          const found = set?.elements.some((e) => e.key[0] === iface && e.key[1] === x);
          if (!found) missing.push(`${family} ${iface} . ${x}`);
        }
      };
      await has("inet", l3Interface(a));
      if (a.bridge) await has("bridge", a.hostInterface);
    });
    if (missing.length > 0)
      return refusal(
        CNI_ERRORS.refused,
        `pod ${podName(pod)} is not enforced as reported`,
        `missing: ${missing.join(", ")}`,
      );
    return { ok: true, revision: this.#applied };
  }

  #cniPart(): NonNullable<AgentOptions["cni"]> {
    if (!this.#opts.cni) throw new Error("CNI requests need the agent's cni option");
    return this.#opts.cni;
  }

  #bridgeTable() {
    return bridgeTransaction(this.#opts.enforcement, this.#cniPart().workloads.bridgePorts());
  }

  /** Waits for a condition re-checked after every batch, at most ms; tells whether it held. */
  #until(ok: () => boolean, ms: number): Promise<boolean> {
    if (ok()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!ok()) return;
        finish(true);
      };
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.#changed.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.#changed.add(check);
    });
  }

  /** Stops watching and retrying; the table stays as it is. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watch?.stop();
    this.#interfacesWatch?.stop();
    clearInterval(this.#driftTimer);
    clearInterval(this.#countersTimer);
    clearTimeout(this.#retryTimer);
    await this.#queue;
    await this.#opts.flows?.stop();
  }

  /**
   * Queues a batch; batches that arrive while an apply runs join the one waiting behind it, so
   * a burst of changes costs one transaction rather than one each.
   */
  #coalesce(batch: SourceBatch): void {
    if (this.#waiting) {
      this.#waiting.events.push(...batch.events);
      this.#waiting.revision = batch.revision;
      return;
    }
    const waiting = { events: [...batch.events], revision: batch.revision };
    this.#waiting = waiting;
    void this.#enqueue(() => {
      this.#waiting = undefined;
      return this.#sync(waiting.events, waiting.revision);
    });
  }

  #enqueue(step: () => Promise<unknown>): Promise<void> {
    const run = this.#queue
      .then(async () => void (await step()))
      .catch((e: unknown) => {
        this.#log.error("agent step failed", { error: e });
      });
    this.#queue = run;
    return run;
  }

  async #sync(source: readonly ResourceEvent[], revision: number): Promise<void> {
    const events = this.#opts.cni ? this.#opts.cni.workloads.bind(source) : source;
    for (const e of events) {
      if (e.type === "upsert") this.#keys.add(resourceKey(e.resource));
      else this.#keys.delete(e.key);
    }
    this.#received = revision;
    this.#sourceError = undefined;
    try {
      this.#opts.flows?.apply(events);
    } catch (e) {
      // Flow logs must never hold up enforcement.
      this.#log.error("flow logs could not take the batch", { error: e });
    }
    await this.#attempt(() => this.#enforcer.enforce(events), "apply");
    for (const notify of this.#changed) notify();
  }

  /** Runs one apply; on failure schedules full resyncs with backoff until one succeeds. */
  async #attempt(apply: () => Promise<ApplyResult>, what: string): Promise<boolean> {
    if (this.#stopped) return false;
    // Before ready, the time the first sync is handed to the kernel bounds when it can be live.
    if (!this.#ready) this.#log.info(`${what}: sending while not ready`);
    try {
      const result = await apply();
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#retry.reset();
      this.#applyError = undefined;
      this.#applied = this.#received;
      this.#appliedAt = new Date().toISOString();
      if (result.mode === "full") this.#fullSyncs++;
      this.#log.info(`${what} done`, { revision: this.#applied, ...result });
      if (!this.#ready && result.mode === "full") this.#becomeReady();
      this.#publish();
      return true;
    } catch (e) {
      this.#applyError = `${what} failed: ${e instanceof Error ? e.message : String(e)}`;
      const retryInMs = this.#scheduleRetry();
      this.#log.error(`${what} failed; the previous ruleset stays`, {
        error: e,
        ...(retryInMs === undefined ? {} : { retryInMs }),
      });
    }
    this.#publish();
    return false;
  }

  /** The wait before the resync it schedules; undefined when one is pending already. */
  #scheduleRetry(): number | undefined {
    if (this.#retryTimer || this.#stopped) return undefined;
    const wait = this.#retry.next();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#enqueue(() => this.#attempt(() => this.#enforcer.resync(), "resync"));
    }, wait);
    return wait;
  }

  #rejected(e: SourceError): void {
    this.#sourceError = e.message;
    this.#log.error("resources rejected; enforcing the last valid set", {
      error: e.message,
      details: e.details,
    });
    this.#publish();
  }

  #becomeReady(): void {
    this.#ready = true;
    for (const notify of this.#changed) notify();
    this.#log.info("ready: first full sync applied", { revision: this.#applied });
  }

  status(): AgentStatus {
    return {
      node: this.#opts.node,
      startedAt: this.#startedAt,
      revision: this.#applied,
      ...(this.#appliedAt ? { appliedAt: this.#appliedAt } : {}),
      ready: this.#ready,
      resources: this.#keys.size,
      ...this.#enforcer.counts(),
      fullSyncs: this.#fullSyncs,
      ...(this.#applyError || this.#sourceError
        ? { lastError: this.#applyError ?? this.#sourceError }
        : {}),
      ...(this.#drift ? { drift: this.#drift } : {}),
      ...(this.#opts.flows
        ? {
            flows: {
              ...this.#opts.flows.status(),
              ...(this.#counters
                ? { counters: this.#counters.values, countersAt: this.#counters.at }
                : {}),
            },
          }
        : {}),
    };
  }

  #publish(): void {
    const status = this.status();
    for (const listener of this.#listeners) {
      try {
        listener(status);
      } catch (e) {
        this.#log.error("status subscriber failed", { error: e });
      }
    }
  }
}

const refusal = (code: number, msg: string, details?: string): CniAnswer => ({
  ok: false,
  code,
  msg,
  ...(details ? { details } : {}),
});
