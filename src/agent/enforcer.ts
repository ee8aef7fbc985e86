// The node's enforcement: resource events into the engine, the engine's deltas into nft
// transactions, one per batch. It tracks whether the kernel is in step with the renderer's
// view: after a failed transaction (nft keeps the previous ruleset whole) it is not, and the
// next apply renders the full state instead of the batch.

import {
  bootstrapTransaction,
  checkDrift,
  type DriftReport,
  type EnforcementConfig,
  NftRenderer,
} from "../dataplane/nftables/index.ts";
import type { ResourceEvent } from "../engine/index.ts";
import { Engine } from "../engine/index.ts";
import type { Nftables, Transaction } from "../nft/index.ts";

export interface EnforcerOptions {
  readonly node: string;
  readonly nft: Nftables;
  readonly enforcement: EnforcementConfig;
}

export interface ApplyResult {
  readonly mode: "full" | "incremental";
  readonly deltas: number;
  /** nft commands in the transaction. */
  readonly commands: number;
  readonly ms: number;
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
  /** Whether the kernel holds what the renderer last rendered. */
  #inStep = false;

  constructor(opts: EnforcerOptions) {
    this.#engine = new Engine({ node: opts.node });
    this.#renderer = new NftRenderer(opts.enforcement);
    this.#nft = opts.nft;
    this.#cfg = opts.enforcement;
  }

  /**
   * Before the first sync: installs the start-up table, unless microseg's table is there
   * already (an agent restarting), which keeps enforcing the last state it was given.
   */
  async bootstrap(): Promise<"installed" | "kept"> {
    if (await this.#nft.read("inet", this.#cfg.table)) return "kept";
    await this.#nft.apply(bootstrapTransaction(this.#cfg));
    return "installed";
  }

  /** Feeds a batch to the engine and brings the kernel to the new state in one transaction. */
  async apply(events: readonly ResourceEvent[]): Promise<ApplyResult> {
    const t0 = performance.now();
    this.#engine.apply(events);
    const deltas = this.#engine.flush();
    if (!this.#inStep) return this.#full(t0, deltas.length);
    return this.#run(this.#renderer.update(deltas), "incremental", t0, deltas.length);
  }

  /** Replaces the table with the full state, whatever it holds. */
  resync(): Promise<ApplyResult> {
    return this.#full(performance.now(), 0);
  }

  /** The live table against the engine's state. */
  drift(): Promise<DriftReport> {
    return checkDrift(this.#nft, this.#cfg, this.#engine.state());
  }

  counts(): StateCounts {
    const s = this.#engine.state();
    return { endpoints: s.endpoints.size, policies: s.policies.size, sets: s.sets.size };
  }

  get inStep(): boolean {
    return this.#inStep;
  }

  #full(t0: number, deltas: number): Promise<ApplyResult> {
    return this.#run(this.#renderer.full(this.#engine.state()), "full", t0, deltas);
  }

  async #run(
    tx: Transaction,
    mode: ApplyResult["mode"],
    t0: number,
    deltas: number,
  ): Promise<ApplyResult> {
    this.#inStep = false;
    await this.#nft.apply(tx);
    this.#inStep = true;
    return { mode, deltas, commands: tx.size, ms: performance.now() - t0 };
  }
}
