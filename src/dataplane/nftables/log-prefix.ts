// The NFLOG prefix of every rule that logs, so a flow reader can name what dropped or logged a
// packet:
//
//   ms|<action>|<direction>|<tier>|<policy>|<rule>
//
// action: D a Deny rule, L a Log rule, A an Allow rule (first packet of a new connection, when
// the renderer logs allowed connections), N allowed past an endpoint's last tier (no policy
// selects it in that direction, or every tier passed it; logged as A is), T the tier's default Deny, S a spoofed source (a workload
// interface carrying an address that is not the workload's, a workload's address elsewhere, a
// workload interface leading to an address no local endpoint holds, an ICMP error from a local
// workload about a connection it is not an end of), H the endpoint-to-host
// default Drop, B the start-up table's drop. direction: i(ngress),
// e(gress) or -. policy: the engine's PolicyId; rule: the rule's index in the source object's
// ingress or egress list. The kernel keeps 127 bytes; when the prefix would be longer the policy
// (then the tier) is written as `~` and the first 16 hex digits of its SHA-256, which a reader
// maps back by hashing the ids it knows (`logKey`).

import type { PolicyId } from "../../engine/index.ts";
import { prefixError } from "../../nft/index.ts";
import type { Direction } from "../../policy/index.ts";
import { hashOf } from "./names.ts";

export type LogAction = "D" | "L" | "A" | "N" | "T" | "S" | "H" | "B";

export interface LogPrefix {
  readonly action: LogAction;
  readonly direction?: Direction;
  readonly tier?: string;
  readonly policy?: PolicyId;
  readonly rule?: number;
}

/** How a long policy id or tier name appears in a prefix. */
export const logKey = (id: string): string => `~${hashOf(id, 16)}`;

const dirCode = (d: Direction | undefined) => (d === "ingress" ? "i" : d === "egress" ? "e" : "-");

export function formatLogPrefix(p: LogPrefix): string {
  const head = `ms|${p.action}|${dirCode(p.direction)}`;
  const rule = p.rule === undefined ? "-" : String(p.rule);
  const build = (tier: string, policy: string) => `${head}|${tier}|${policy}|${rule}`;
  const tier = p.tier ?? "-";
  const policy = p.policy ?? "-";
  for (const candidate of [
    build(tier, policy),
    build(tier, p.policy ? logKey(p.policy) : "-"),
    build(p.tier ? logKey(p.tier) : "-", p.policy ? logKey(p.policy) : "-"),
  ]) {
    if (!prefixError(candidate)) return candidate;
  }
  throw new Error(`no valid log prefix for ${JSON.stringify(p)}`);
}

export interface ParsedLogPrefix {
  readonly action: LogAction;
  readonly direction?: Direction;
  /** A name, or `~hash` (see logKey). */
  readonly tier?: string;
  readonly policy?: string;
  readonly rule?: number;
}

/** Reads a prefix formatLogPrefix wrote; undefined for anyone else's. */
export function parseLogPrefix(text: string): ParsedLogPrefix | undefined {
  const parts = text.split("|");
  if (parts.length < 6 || parts[0] !== "ms") return undefined;
  const [, action, d, tier, ...rest] = parts;
  const rule = rest.pop()!;
  // A policy id never holds "|", but split anything else back together rather than guess.
  const policy = rest.join("|");
  if (!["D", "L", "A", "N", "T", "S", "H", "B"].includes(action!)) return undefined;
  return {
    action: action as LogAction,
    ...(d === "i" ? { direction: "ingress" } : d === "e" ? { direction: "egress" } : {}),
    ...(tier !== "-" ? { tier: tier! } : {}),
    ...(policy !== "-" ? { policy } : {}),
    ...(/^\d+$/.test(rule) ? { rule: Number(rule) } : {}),
  } as ParsedLogPrefix;
}
