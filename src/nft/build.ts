// Short constructors for rule bodies, so a renderer reads like the rule it writes:
// [eq(ip.saddr, ref("allowed")), eq(meta.l4proto, "tcp"), eq(th.dport, 80), counter(), verdict.accept]

import type {
  Atom,
  CtDirection,
  CtState,
  ElementObject,
  Expr,
  Part,
  PortProtocol,
  Range,
  RejectWith,
  Stmt,
  Value,
  Verdict,
} from "./ast.ts";

const addresses = (protocol: "ip" | "ip6") =>
  ({
    saddr: { kind: "payload", protocol, field: "saddr" },
    daddr: { kind: "payload", protocol, field: "daddr" },
  }) as const satisfies Record<string, Expr>;

const ports = (protocol: PortProtocol) =>
  ({
    sport: { kind: "payload", protocol, field: "sport" },
    dport: { kind: "payload", protocol, field: "dport" },
  }) as const satisfies Record<string, Expr>;

export const ip = addresses("ip");
export const ip6 = addresses("ip6");
/** Transport header ports, whatever the protocol; pair with a `meta l4proto` match. */
export const th = ports("th");
export const tcp = ports("tcp");
export const udp = ports("udp");
export const sctp = ports("sctp");

const icmpHeader = (protocol: "icmp" | "icmpv6") =>
  ({
    type: { kind: "payload", protocol, field: "type" },
    code: { kind: "payload", protocol, field: "code" },
  }) as const satisfies Record<string, Expr>;

export const icmp = icmpHeader("icmp");
export const icmpv6 = icmpHeader("icmpv6");

export const meta = {
  l4proto: { kind: "meta", key: "l4proto" },
  mark: { kind: "meta", key: "mark" },
  iifname: { kind: "meta", key: "iifname" },
  oifname: { kind: "meta", key: "oifname" },
  nfproto: { kind: "meta", key: "nfproto" },
} as const satisfies Record<string, Expr>;

const ctAddresses = (dir: CtDirection, protocol: "ip" | "ip6") =>
  ({
    saddr: { kind: "ct", dir, protocol, key: "saddr" },
    daddr: { kind: "ct", dir, protocol, key: "daddr" },
  }) as const satisfies Record<string, Expr>;

const ctDirection = (dir: CtDirection) => ({
  ip: ctAddresses(dir, "ip"),
  ip6: ctAddresses(dir, "ip6"),
});

/** `ct state`, and the addresses of a connection's tuples: `ct.original.ip.saddr`. */
export const ct = {
  state: { kind: "ct", key: "state" },
  original: ctDirection("original"),
  reply: ctDirection("reply"),
} as const;

/** A random number below `mod` per packet: `eq(numgenRandom(n), 0)` matches 1 packet in n. */
export const numgenRandom = (mod: number): Expr => ({ kind: "numgen", mode: "random", mod });
export const concat = (...parts: Expr[]): Expr => ({ kind: "concat", parts });
export const and = (expr: Expr, mask: number): Expr => ({ kind: "and", expr, mask });

export const eq = (left: Expr, right: Value): Stmt => ({ kind: "match", left, op: "==", right });
export const ne = (left: Expr, right: Value): Stmt => ({ kind: "match", left, op: "!=", right });

export const ref = (name: string): Value => ({ kind: "ref", name });
export const anon = (...elements: Part[]): Value => ({ kind: "anon", elements });
export const range = (from: Atom, to: Atom): Range => ({ kind: "range", from, to });
export const states = (...values: CtState[]): Value => ({ kind: "flags", values });

export const counter = (): Stmt => ({ kind: "counter" });
export const log = (opts: { prefix?: string; group?: number }): Stmt => ({ kind: "log", ...opts });
/** Sets the bits under `mask` (all 32 by default) to `value`. */
export const setMark = (value: number, mask = 0xffffffff): Stmt => ({ kind: "mark", value, mask });
export const vmap = (key: Expr, map: string): Stmt => ({ kind: "vmap", key, map });
/** `meta mark set KEY map @MAP` (a data map of marks); no element ends the rule. */
export const markFromMap = (key: Expr, map: string): Stmt => ({ kind: "markMap", key, map });
export const notrack: Stmt = { kind: "notrack" };

export const reject = (withWhat?: RejectWith): Stmt =>
  withWhat ? { kind: "reject", with: withWhat } : { kind: "reject" };

export const verdict = {
  accept: { kind: "accept" },
  drop: { kind: "drop" },
  continue: { kind: "continue" },
  return: { kind: "return" },
  jump: (chain: string): Verdict => ({ kind: "jump", chain }),
  goto: (chain: string): Verdict => ({ kind: "goto", chain }),
} as const satisfies Record<string, Verdict | ((chain: string) => Verdict)>;

/**
 * One element of a set, or of a map with its value, as a command: `element("s", ["198.18.0.1"])`.
 * A transaction merges such commands in a row on one set into one command.
 */
export const element = (
  set: string,
  key: Part[],
  value?: Verdict | Atom,
  comment?: string,
): ElementObject => ({
  kind: "element",
  set,
  elements: [
    {
      key,
      ...(value === undefined ? {} : { value }),
      ...(comment === undefined ? {} : { comment }),
    },
  ],
});
