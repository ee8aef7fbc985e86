// The bodies of policy chains and endpoint chains.
//
// A policy chain holds one policy's rules for one direction and is shared by every endpoint the
// policy selects. Its rules end the policy's say on a packet with a mark and a return: Allow
// sets MARK_ALLOW, Pass sets MARK_PASS; Deny logs and drops right there; Log logs and goes on.
//
// An endpoint chain walks the endpoint's tiers in order. It clears both bits, jumps to each
// policy of a tier while neither bit is set (first match wins across the tier's policies), and
// at the tier's end: Allow -> allowed; neither bit and default Deny -> log and drop; else clear
// Pass and go on to the next tier. Past the last tier the direction is allowed (no policy selects
// the endpoint that way, or every tier passed it); with allowed connections logged, that rule
// logs too (prefix N), so default-allowed connections are seen as well. Allowed ingress accepts
// the packet; allowed egress returns, so the base chain goes on to check ingress.

import type { DpPolicy, DpRule, DpTierRef } from "../../engine/index.ts";
import type { Stmt } from "../../nft/index.ts";
import { and, counter, eq, log, meta, numgenRandom, setMark, verdict } from "../../nft/index.ts";
import type { Direction } from "../../policy/index.ts";
import { MARK_ALLOW, MARK_BITS, MARK_EGRESS, MARK_PASS } from "./enforcement.ts";
import { formatLogPrefix } from "./log-prefix.ts";
import { identityLookupChain, policyChain } from "./names.ts";
import { type HasPrefixes, ruleAlternatives } from "./rule-match.ts";

export interface ChainContext {
  readonly nflogGroup: number;
  /** Endpoint chains try the verdict-map fast path before walking their tiers. */
  readonly verdictMaps: boolean;
  readonly nflogAllowGroup?: number;
  /** Allowed connections are logged 1 in this many (see EnforcementConfig). */
  readonly nflogAllowSample?: number;
  readonly hasPrefixes: HasPrefixes;
}

const sampled = (ctx: ChainContext) =>
  ctx.nflogAllowGroup !== undefined && (ctx.nflogAllowSample ?? 1) > 1;

function ruleLog(
  rule: DpRule,
  policy: DpPolicy,
  d: Direction,
  action: "D" | "L" | "A",
  group: number,
): Stmt {
  const prefix = formatLogPrefix({
    action,
    direction: d,
    tier: policy.tier,
    policy: policy.id,
    rule: rule.origin.index,
  });
  return log({ prefix, group });
}

function actionOf(rule: DpRule, policy: DpPolicy, d: Direction, ctx: ChainContext): Stmt[] {
  const logged = (action: "D" | "L") => ruleLog(rule, policy, d, action, ctx.nflogGroup);
  switch (rule.action) {
    case "Allow": {
      const allow = [setMark(MARK_ALLOW, MARK_ALLOW), verdict.return];
      const group = ctx.nflogAllowGroup;
      if (group === undefined || sampled(ctx)) return allow;
      return [ruleLog(rule, policy, d, "A", group), ...allow];
    }
    case "Pass":
      return [setMark(MARK_PASS, MARK_PASS), verdict.return];
    case "Deny":
      return [logged("D"), verdict.drop];
    case "Log":
      return [logged("L")];
  }
}

export function policyRules(policy: DpPolicy, d: Direction, ctx: ChainContext): Stmt[][] {
  const rules = d === "ingress" ? policy.ingress : policy.egress;
  return rules.flatMap((rule) => {
    const action = actionOf(rule, policy, d, ctx);
    // Sampled allow logging: the draw comes first, so the other N-1 of N packets skip the
    // match; the logging rule has no counter, so the counters still count each packet once.
    const sample =
      rule.action === "Allow" && sampled(ctx)
        ? [
            eq(numgenRandom(ctx.nflogAllowSample!), 0),
            ruleLog(rule, policy, d, "A", ctx.nflogAllowGroup!),
          ]
        : undefined;
    return ruleAlternatives(rule, ctx.hasPrefixes).flatMap((match) => {
      const decide = [...match, counter(), ...action];
      return sample ? [[sample[0]!, ...match, sample[1]!], decide] : [decide];
    });
  });
}

const bitsClear = (bits: number) => eq(and(meta.mark, bits), 0);

export function endpointRules(
  tiers: readonly DpTierRef[],
  d: Direction,
  ctx: ChainContext,
): Stmt[][] {
  const allowed = d === "ingress" ? verdict.accept : verdict.return;
  const out: Stmt[][] = [];
  if (tiers.length > 0 && ctx.verdictMaps) {
    // The peer's identity decides by lookup when it can (a policy chain or id-allow sets
    // ALLOW and returns here, a Deny drops); no answer leaves the mark clear for the walk.
    // The lookup chain expects exactly these bits (and MARK_HOST_ALLOWED) and puts them back.
    // The lookup chain returns at once for protocols without ports.
    out.push([counter(), setMark(d === "egress" ? MARK_EGRESS : 0, MARK_BITS | MARK_EGRESS)]);
    out.push([verdict.jump(identityLookupChain(d))]);
    out.push([eq(and(meta.mark, MARK_ALLOW), MARK_ALLOW), counter(), allowed]);
  } else if (tiers.length > 0) out.push([counter(), setMark(0, MARK_BITS)]);
  out.push(...tierWalk(tiers, d, ctx, [allowed], false));
  out.push(...allowedByDefault(d, ctx, allowed));
  return out;
}

/**
 * Jumps to each tier's policies while no bit is set, the tier's default Deny, and between
 * tiers: ALLOW ends the walk with `allowed`, else Pass is cleared. `afterLast`: the ALLOW check
 * after the last tier too (a stage chain, which returns when no tier allowed).
 */
function tierWalk(
  tiers: readonly DpTierRef[],
  d: Direction,
  ctx: ChainContext,
  allowed: Stmt[],
  afterLast: boolean,
): Stmt[][] {
  const out: Stmt[][] = [];
  tiers.forEach((tier, t) => {
    tier.policies.forEach((id, i) => {
      const jump = [counter(), verdict.jump(policyChain(id, d))];
      out.push(i === 0 ? jump : [bitsClear(MARK_BITS), ...jump]);
    });
    if (tier.defaultAction === "Deny") {
      const prefix = formatLogPrefix({ action: "T", direction: d, tier: tier.name });
      out.push([
        bitsClear(MARK_BITS),
        counter(),
        log({ prefix, group: ctx.nflogGroup }),
        verdict.drop,
      ]);
    }
    const last = t === tiers.length - 1;
    if (!last || afterLast) {
      out.push([eq(and(meta.mark, MARK_ALLOW), MARK_ALLOW), counter(), ...allowed]);
    }
    if (!last) out.push([counter(), setMark(0, MARK_PASS)]);
  });
  return out;
}

/**
 * A host endpoint stage's chain: its tiers walked as an endpoint chain's, but never through
 * the fast path (whose verdict elements are per local address, while a stage judges packets to
 * and from any address). A tier that allowed ends with `allowed`; a Deny drops; when no tier
 * decided (stage tiers may end in Pass) the chain returns and the packet goes on.
 */
export function stageRules(
  tiers: readonly DpTierRef[],
  d: Direction,
  ctx: ChainContext,
  allowed: Stmt[],
): Stmt[][] {
  if (tiers.length === 0) return [];
  return [[counter(), setMark(0, MARK_BITS)], ...tierWalk(tiers, d, ctx, allowed, true)];
}

/** The chain's last rule, which logs the connections it allows when allowed ones are logged. */
function allowedByDefault(d: Direction, ctx: ChainContext, allowed: Stmt): Stmt[][] {
  const group = ctx.nflogAllowGroup;
  if (group === undefined) return [[counter(), allowed]];
  const logged = log({ prefix: formatLogPrefix({ action: "N", direction: d }), group });
  if (!sampled(ctx)) return [[counter(), logged, allowed]];
  return [
    [eq(numgenRandom(ctx.nflogAllowSample!), 0), logged],
    [counter(), allowed],
  ];
}
