// In-place rule edits: the rules of each policy and endpoint chain as last rendered, with the
// handles the kernel gave them once they are known, and the edit that turns a chain's rules
// into new ones inside the caller's transaction: the rules up to the first that changes stay,
// those after it are deleted by handle and the new tail is appended. A policy created last for
// an endpoint selected by 1,000 others is then its jump and the chain's closing rules, where
// flushing and rewriting the chain cost its 1,000 rules again in nft and the kernel.
//
// Why not insert and replace by handle, as knftables and Felix do: libnftables 1.0.6 fills its
// rule cache (every rule of the table, dumped from the kernel) before any command placed by
// handle, but not for an append or a delete by handle. Measured in one process (3,000 rules,
// 1,000 chains, load 13): append 1.6 ms, delete 2.5 ms, insert 10.6 ms, replace 18.1 ms; so an
// insert costs with the table's rules and a tail rewrite only with the tail.
//
// The transaction stays one batch, so no packet ever sees a chain between its old and new
// rules. A handle names one rule of one chain for the table's life (the kernel never reuses
// one), so a stale handle cannot hit another rule: it fails the transaction (ENOENT) and the
// caller renders in full. A chain with a rule whose handle is not known is flushed and written
// whole, as before, so the edits never depend on handles being learned.

import type { Nftables, RuleHandles, Stmt, Transaction } from "../../nft/index.ts";
import { renderBody } from "../../nft/index.ts";

interface RenderedChain {
  /** Each rule's text (its body as nft syntax): two rules are the same when these are. */
  texts: string[];
  /** The kernel's handle of each rule; undefined until learned after the commit. */
  handles: (number | undefined)[];
}

export class ChainEdits {
  readonly #chains = new Map<string, RenderedChain>();

  /** Rules of a chain the transaction creates, appended in order. */
  created(tx: Transaction, chain: string, bodies: readonly Stmt[][]): void {
    for (const body of bodies) tx.add({ kind: "rule", chain, body });
    this.#chains.set(chain, {
      texts: bodies.map((b) => renderBody(b)),
      handles: bodies.map(() => undefined),
    });
  }

  /** Brings an existing chain's rules to `bodies`: in place when its handles are known. */
  rewrite(tx: Transaction, chain: string, bodies: readonly Stmt[][]): void {
    const old = this.#chains.get(chain);
    const texts = bodies.map((b) => renderBody(b));
    const was = old?.texts ?? [];
    let kept = 0;
    while (kept < was.length && kept < texts.length && was[kept] === texts[kept]) kept++;
    if (old && kept === old.texts.length && kept === texts.length) return;
    if (!old || kept === 0 || old.handles.some((h) => h === undefined)) {
      tx.flush({ kind: "chain", name: chain });
      this.created(tx, chain, bodies);
      return;
    }
    for (const h of old.handles.slice(kept)) tx.delete({ kind: "rule", chain, handle: h! });
    for (const body of bodies.slice(kept)) tx.add({ kind: "rule", chain, body });
    this.#chains.set(chain, {
      texts,
      handles: [...old.handles.slice(0, kept), ...texts.slice(kept).map(() => undefined)],
    });
  }

  /** A chain the transaction renames: its rules and handles go with it. */
  renamed(from: string, to: string): void {
    const chain = this.#chains.get(from);
    this.#chains.delete(from);
    if (chain) this.#chains.set(to, chain);
  }

  removed(chain: string): void {
    this.#chains.delete(chain);
  }

  /** Chains holding a rule whose handle is not known yet. */
  unknown(): string[] {
    const out: string[] = [];
    for (const [name, c] of this.#chains)
      if (c.handles.some((h) => h === undefined)) out.push(name);
    return out;
  }

  /**
   * Takes the handles the kernel reports for chains this renderer wrote. A chain whose live
   * rules do not line up with what was rendered (another count, a known handle elsewhere) is
   * left without handles, so its next change rewrites it whole.
   */
  learn(live: RuleHandles): void {
    for (const [name, handles] of live) {
      const c = this.#chains.get(name);
      if (!c) continue;
      const fits =
        handles.length === c.texts.length &&
        c.handles.every((h, k) => h === undefined || h === handles[k]);
      c.handles = fits ? [...handles] : c.texts.map(() => undefined);
    }
  }
}

/** Past this many chains, one dump of the table's rules costs less than one dump per chain. */
const DUMP_TABLE_FROM = 64;

/** What learnRuleHandles needs of the renderer. */
export interface HandleLearner {
  unknownHandles(): string[];
  learnHandles(live: RuleHandles): void;
}

/**
 * Reads the handles of the rules the last committed transaction added and gives them to the
 * renderer. Call it after each commit and before the next render, never across one: after a
 * full render the table is new and its handles start again, so an old answer could name
 * other rules. Without `ruleHandles` (or when it fails) the chains keep being rewritten whole.
 */
export async function learnRuleHandles(
  nft: Nftables,
  table: string,
  renderer: HandleLearner,
): Promise<void> {
  if (!nft.ruleHandles) return;
  const chains = renderer.unknownHandles();
  if (chains.length === 0) return;
  const asked = chains.length > DUMP_TABLE_FROM ? undefined : chains;
  renderer.learnHandles(await nft.ruleHandles("inet", table, asked));
}
