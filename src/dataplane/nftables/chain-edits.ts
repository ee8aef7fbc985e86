// In-place rule edits (as knftables and Felix make them): the rules of each policy and endpoint
// chain as last rendered, with the handles the kernel gave them once they are known, and the
// edit that turns a chain's rules into new ones inside the caller's transaction: rules that
// stay are left alone, a changed rule is replaced in place (it keeps its handle), new rules are
// inserted before the next rule that stays (or appended), gone ones are deleted by handle.
// A policy created for an endpoint selected by 1,000 others is then one inserted jump, where
// flushing and rewriting the chain cost its 1,000 rules again in nft and the kernel.
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

/** Above this many cells the middle of a change is not aligned rule by rule (replaced in order). */
const ALIGN_CELLS = 1_000_000;

/** Index pairs (old, new) of a longest common subsequence of the two lists. */
function commonRules(a: readonly string[], b: readonly string[]): [number, number][] {
  const pairs: [number, number][] = [];
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) pairs.push([p, p++]);
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  const [m, n] = [a.length - p - s, b.length - p - s];
  if (m > 0 && n > 0 && m * n <= ALIGN_CELLS) {
    // lengths[i][j]: longest common run of a[p+i..] and b[p+j..].
    const w = n + 1;
    const lengths = new Uint32Array((m + 1) * w);
    for (let i = m - 1; i >= 0; i--) {
      for (let j = n - 1; j >= 0; j--) {
        lengths[i * w + j] =
          a[p + i] === b[p + j]
            ? lengths[(i + 1) * w + j + 1]! + 1
            : Math.max(lengths[(i + 1) * w + j]!, lengths[i * w + j + 1]!);
      }
    }
    for (let i = 0, j = 0; i < m && j < n; ) {
      if (a[p + i] === b[p + j]) pairs.push([p + i++, p + j++]);
      else if (lengths[(i + 1) * w + j]! >= lengths[i * w + j + 1]!) i++;
      else j++;
    }
  }
  for (let k = s; k > 0; k--) pairs.push([a.length - k, b.length - k]);
  return pairs;
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
    if (!old || old.handles.some((h) => h === undefined)) {
      tx.flush({ kind: "chain", name: chain });
      this.created(tx, chain, bodies);
      return;
    }
    const handle = (i: number) => old.handles[i]!;
    const handles: (number | undefined)[] = texts.map(() => undefined);
    const deleted: number[] = [];
    const replaced: [number, number][] = [];
    const added: { at: number; before: number | undefined }[] = [];
    const pairs = commonRules(old.texts, texts);
    // Between two rules that stay (and before the first, after the last): old rules there
    // become the new ones in order, the rest are deleted, and extra new ones go before the
    // next rule that stays, or at the end of the chain when none does.
    pairs.push([old.texts.length, texts.length]);
    let [i, j] = [0, 0];
    for (const [keepI, keepJ] of pairs) {
      const next = keepI < old.texts.length ? handle(keepI) : undefined;
      for (; i < keepI && j < keepJ; i++, j++) {
        replaced.push([handle(i), j]);
        handles[j] = handle(i);
      }
      for (; i < keepI; i++) deleted.push(handle(i));
      for (; j < keepJ; j++) added.push({ at: j, before: next });
      if (keepJ < texts.length) handles[keepJ] = handle(keepI);
      [i, j] = [keepI + 1, keepJ + 1];
    }
    for (const h of deleted) tx.delete({ kind: "rule", chain, handle: h });
    for (const [h, at] of replaced)
      tx.replace({ kind: "rule", chain, handle: h, body: bodies[at]! });
    for (const { at, before } of added) {
      const rule = { kind: "rule" as const, chain, body: bodies[at]! };
      if (before === undefined) tx.add(rule);
      else tx.insert({ ...rule, handle: before });
    }
    this.#chains.set(chain, { texts, handles });
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
