// The node's enforcement: resource events into the engine, the engine's deltas into nft
// transactions, one per batch. It tracks whether the kernel is in step with the renderer's
// view: after a failed transaction (nft keeps the previous ruleset whole) it is not, and the
// next apply renders the full state instead of the batch.
//
// A batch in which addresses leave their endpoints goes in two transactions around a
// conntrack cleanup: first the departures alone (the addresses then belong to nobody, so no
// packet reaches or leaves them), then the entries of those addresses are deleted, then the
// rest of the batch, which may give them to new owners. So no connection of an old owner is
// ever carried to a new one.
//
// An agent that starts on a table an earlier agent left (a restart) knows nothing of the
// endpoints that agent rendered, but the table says who held each address: its first full
// render goes the same way for the addresses that changed hands while no agent ran (first
// without them, their entries deleted, then the full state).
//
// With revocation on (`revokeDenied`), a MemoryDataplane fed the same deltas judges every
// tracked connection of a local workload once the update is live, and those it denies are
// deleted from conntrack: the established-accept then no longer carries them.

import type { Conntrack, TrackedConnection } from "../dataplane/conntrack.ts";
import { MemoryDataplane } from "../dataplane/memory/memory-dataplane.ts";
import { type NodeFacts, trackedAllowed } from "../dataplane/memory/tracked-verdict.ts";
import {
  type AddressHolder,
  type BridgePort,
  bootstrapTransaction,
  bridgeDrift,
  changedHands,
  checkDrift,
  type DriftReport,
  type EnforcementConfig,
  learnRuleHandles,
  NftRenderer,
  stateHolders,
  tableHolders,
  withoutAddresses,
} from "../dataplane/nftables/index.ts";
import {
  type Delta,
  type DpEndpoint,
  type EndpointId,
  Engine,
  type HostInterfaces,
  type ResourceEvent,
  sameInterfaces,
} from "../engine/index.ts";
import { cidrContains, parseAddress, parseCidr } from "../net/cidr.ts";
import type { Nftables, Transaction } from "../nft/index.ts";
import { policyCounters } from "./policy-counters.ts";
import type { PolicyCounter } from "./status.ts";

/** conntrack's protocol names that revocation judges: those with ports, and ICMP queries. */
const REVOCABLE: Readonly<Record<string, "TCP" | "UDP" | "SCTP" | "ICMP" | "ICMPv6">> = {
  tcp: "TCP",
  udp: "UDP",
  sctp: "SCTP",
  icmp: "ICMP",
  icmpv6: "ICMPv6",
};

const LOOPBACK = { 4: parseCidr("127.0.0.0/8"), 6: parseCidr("::1/128") } as const;

export interface EnforcerOptions {
  readonly node: string;
  readonly nft: Nftables;
  readonly enforcement: EnforcementConfig;
  /** Deletes connection entries of addresses that left their endpoint. */
  readonly conntrack?: Conntrack;
}

export interface ApplyResult {
  readonly mode: "full" | "incremental";
  readonly deltas: number;
  /** nft commands in the transaction. */
  readonly commands: number;
  readonly ms: number;
  /** Addresses whose connection entries were deleted. */
  readonly forgotten: number;
  /** Tracked connections cut because the update denies them (revocation). */
  readonly revoked: number;
  /**
   * Why the rule handles of the previous commit could not be read, when they could not: the
   * chains they were for are then rewritten whole, as without in-place edits.
   */
  readonly handles?: string;
}

export interface StateCounts {
  readonly endpoints: number;
  readonly policies: number;
  readonly sets: number;
}

export class Enforcer {
  readonly #engine: Engine;
  readonly #renderer: NftRenderer;
  readonly #nft: Nftables;
  readonly #cfg: EnforcementConfig;
  readonly #conntrack: Conntrack | undefined;
  /** The local endpoints as the kernel last got them, to see which addresses leave. */
  readonly #endpoints = new Map<EndpointId, DpEndpoint>();
  /** Whether the kernel holds what the renderer last rendered. */
  #inStep = false;
  /** Who held each address in the table an earlier agent left, until the first full render. */
  #inherited: ReadonlyMap<string, AddressHolder> | undefined;
  /** The judge of tracked connections, when revocation is on. */
  readonly #judge: MemoryDataplane | undefined;
  /**
   * The read of the handles of rules the last commit added (for in-place edits), started after
   * the commit so the update is live without waiting for it, and awaited before the next
   * render, which must not see handles of another table generation.
   */
  #learning: Promise<string | undefined> = Promise.resolve(undefined);
  #interfaces: HostInterfaces = new Map();

  constructor(opts: EnforcerOptions) {
    this.#engine = new Engine({
      node: opts.node,
      podInterfacePrefix: opts.enforcement.podInterfacePrefix,
    });
    this.#renderer = new NftRenderer(opts.enforcement);
    this.#nft = opts.nft;
    this.#cfg = opts.enforcement;
    this.#conntrack = opts.conntrack;
    if (opts.enforcement.revokeDenied) {
      if (!opts.conntrack) throw new Error("revocation needs conntrack to cut connections with");
      this.#judge = new MemoryDataplane();
    }
  }

  /**
   * Before the first sync: installs the start-up table, unless microseg's table is there
   * already (an agent restarting), which keeps enforcing the last state it was given.
   */
  async bootstrap(): Promise<"installed" | "kept"> {
    const table = await this.#nft.read("inet", this.#cfg.table);
    if (table) {
      this.#inherited = tableHolders(table);
      return "kept";
    }
    await this.#nft.run(bootstrapTransaction(this.#cfg));
    return "installed";
  }

  /** Feeds a batch to the engine and brings the kernel to the new state in one transaction. */
  async enforce(events: readonly ResourceEvent[]): Promise<ApplyResult> {
    const t0 = performance.now();
    const handles = await this.#learned();
    this.#engine.ingest(events);
    const deltas = this.#engine.flush();
    this.#judge?.applyDeltas(deltas);
    const { departures, released } = this.#departures(deltas);
    if (!this.#inStep) {
      const result = await this.#full(t0, deltas.length);
      await this.#forget(released);
      const revoked = deltas.length > 0 ? await this.#revoke() : 0;
      return { ...result, forgotten: result.forgotten + released.length, revoked, ...handles };
    }
    let commands = 0;
    if (released.length > 0 && this.#conntrack) {
      const first = this.#renderer.update(departures);
      commands += first.size;
      await this.#run(first);
      await this.#learned();
      await this.#forget(released);
    }
    const tx = this.#renderer.update(deltas);
    await this.#run(tx);
    const revoked = deltas.length > 0 ? await this.#revoke() : 0;
    return {
      mode: "incremental",
      deltas: deltas.length,
      commands: commands + tx.size,
      ms: performance.now() - t0,
      forgotten: released.length,
      revoked,
      ...handles,
    };
  }

  /**
   * Cuts the tracked connections that the live policy would not let through as new: those with
   * a local workload at an end (workload policy, and the stages of the host endpoints they
   * cross), the node's own to and from its host endpoints (their stages and normal policy;
   * failsafe ports never), and those forwarded through its host endpoints (their stages).
   */
  async #revoke(): Promise<number> {
    if (!this.#judge || !this.#conntrack) return 0;
    const judge = this.#judge;
    const judged = (c: TrackedConnection) => {
      const protocol = REVOCABLE[c.protocol];
      // A query's first packet is what policy judged (an echo request: its type and code).
      const what =
        c.destinationPort !== undefined
          ? {
              port: c.destinationPort,
              ...(c.sourcePort === undefined ? {} : { sourcePort: c.sourcePort }),
            }
          : c.icmp && { icmp: { type: c.icmp.type, code: c.icmp.code } };
      if (!protocol || !what) return false;
      const flow = {
        source: c.source,
        destination: c.destination,
        protocol,
        ...what,
        ...(c.replySource === undefined ? {} : { replySource: c.replySource }),
      };
      return !trackedAllowed(judge, flow, node);
    };
    const own = new Set([...this.#interfaces.values()].flat());
    const node: NodeFacts = {
      failsafe: (side, protocol, port) =>
        (side === "in" ? this.#cfg.failsafeInbound : this.#cfg.failsafeOutbound).some(
          (p) => p.protocol === String(protocol).toLowerCase() && port >= p.from && port <= p.to,
        ),
      nodeAddress: (a) => {
        const address = parseAddress(a);
        return own.has(address.text) || cidrContains(LOOPBACK[address.family], address);
      },
      endpointToHost: this.#cfg.endpointToHostAction,
    };
    const denied = (await this.#conntrack.list()).filter(judged);
    await this.#conntrack.cut(denied);
    return denied.length;
  }

  /**
   * The deltas that take addresses away from their endpoints and nothing else: endpoints
   * removed, and endpoints that keep only the addresses they still hold (as they were, so the
   * policies they point at are the rendered ones). Records the batch's endpoints.
   */
  #departures(deltas: readonly Delta[]): { departures: Delta[]; released: string[] } {
    const departures: Delta[] = [];
    const released: string[] = [];
    for (const d of deltas) {
      if (d.type === "endpoint-removed") {
        const before = this.#endpoints.get(d.id);
        this.#endpoints.delete(d.id);
        if (!before) continue;
        departures.push(d);
        released.push(...before.addresses);
      } else if (d.type === "endpoint-upserted") {
        const before = this.#endpoints.get(d.endpoint.id);
        this.#endpoints.set(d.endpoint.id, d.endpoint);
        if (!before) continue;
        const kept = new Set(d.endpoint.addresses);
        const gone = before.addresses.filter((a) => !kept.has(a));
        const moved = before.interfaceName !== d.endpoint.interfaceName;
        if (gone.length === 0 && !moved) continue;
        const remaining = moved ? [] : before.addresses.filter((a) => kept.has(a));
        departures.push({
          type: "endpoint-upserted",
          endpoint: { ...before, addresses: remaining },
        });
        released.push(...(moved ? before.addresses : gone));
      }
    }
    return { departures, released };
  }

  async #forget(addresses: readonly string[]): Promise<void> {
    if (addresses.length > 0) await this.#conntrack?.forget(addresses);
  }

  /** Replaces the table with the full state, whatever it holds. */
  async resync(): Promise<ApplyResult> {
    const t0 = performance.now();
    const handles = await this.#learned();
    return { ...(await this.#full(t0, 0)), ...handles };
  }

  /** Waits for the pending handle read; its failure, if it failed, for the apply's result. */
  async #learned(): Promise<{ handles?: string }> {
    const error = await this.#learning;
    this.#learning = Promise.resolve(undefined);
    return error === undefined ? {} : { handles: error };
  }

  /** The live table against the engine's state. */
  drift(): Promise<DriftReport> {
    return checkDrift(this.#nft, this.#cfg, this.#engine.state());
  }

  /** The live bridge table against these ports' rendering. */
  bridgeDrift(ports: readonly BridgePort[]): Promise<DriftReport> {
    return bridgeDrift(this.#nft, this.#cfg, ports);
  }

  /** The policy chains' counters as the kernel has them now (one read of the table). */
  async policyCounters(): Promise<PolicyCounter[]> {
    const table = await this.#nft.read("inet", this.#cfg.table);
    return table ? policyCounters(table, this.#engine.state().policies) : [];
  }

  /** See `Engine.setPodInterface`; takes effect with the next `enforce`. */
  setPodInterface(pod: string, name: string | undefined): void {
    this.#engine.setPodInterface(pod, name);
  }

  /**
   * The node's interfaces (see `Engine.setHostInterfaces`); takes effect with the next
   * `enforce`. Tells whether they differ from the last ones.
   */
  setHostInterfaces(interfaces: HostInterfaces): boolean {
    if (sameInterfaces(this.#interfaces, interfaces)) return false;
    this.#interfaces = interfaces;
    this.#engine.setHostInterfaces(interfaces);
    return true;
  }

  /** A local endpoint as the kernel last got it. */
  endpoint(id: string): DpEndpoint | undefined {
    return this.#endpoints.get(id as EndpointId);
  }

  /** Runs a transaction of another table (the bridge table) on the node's nftables. */
  runOther(tx: Transaction): Promise<void> {
    return this.#nft.run(tx);
  }

  /** A table of the node as the kernel has it now. */
  read(family: "inet" | "bridge"): ReturnType<Nftables["read"]> {
    return this.#nft.read(family, this.#cfg.table);
  }

  counts(): StateCounts {
    const s = this.#engine.state();
    return { endpoints: s.endpoints.size, policies: s.policies.size, sets: s.sets.size };
  }

  get inStep(): boolean {
    return this.#inStep;
  }

  async #full(t0: number, deltas: number): Promise<ApplyResult> {
    const state = this.#engine.state();
    const released =
      this.#inherited && this.#conntrack ? changedHands(this.#inherited, stateHolders(state)) : [];
    let commands = 0;
    if (released.length > 0) {
      const first = this.#renderer.full(withoutAddresses(state, released));
      commands += first.size;
      await this.#run(first);
      await this.#forget(released);
    }
    const tx = this.#renderer.full(state);
    await this.#run(tx);
    this.#inherited = undefined;
    this.#endpoints.clear();
    for (const [id, e] of state.endpoints) this.#endpoints.set(id, e);
    return {
      mode: "full",
      deltas,
      commands: commands + tx.size,
      ms: performance.now() - t0,
      forgotten: released.length,
      revoked: 0,
    };
  }

  async #run(tx: Transaction): Promise<void> {
    this.#inStep = false;
    await this.#nft.run(tx);
    this.#inStep = true;
    this.#learning = learnRuleHandles(this.#nft, this.#cfg.table, this.#renderer).then(
      () => undefined,
      // The commit stands; without the handles those chains are rewritten whole next time.
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
  }
}
