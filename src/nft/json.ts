// nft's JSON (`nft -j list table`) -> TableModel. Statements and expressions this AST has no
// shape for become `unknown` statements carrying the JSON, so a drift check still sees them.

import type {
  Atom,
  BaseChain,
  CtState,
  Expr,
  Family,
  Part,
  RejectWith,
  SetFlag,
  SetKeyType,
  Stmt,
  Value,
  Verdict,
} from "./ast.ts";
import type { ChainModel, ElementModel, RuleModel, SetModel, TableModel } from "./model.ts";

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isAtom = (v: unknown): v is Atom => typeof v === "string" || typeof v === "number";

/** Thrown inside this module when a piece of JSON has no AST shape. */
class Unrecognized extends Error {}
const unrecognized = (): never => {
  throw new Unrecognized();
};

function only(obj: Json): [string, unknown] {
  const entries = Object.entries(obj);
  return entries.length === 1 ? entries[0]! : unrecognized();
}

const payloadFields: Record<string, readonly string[]> = {
  ip: ["saddr", "daddr"],
  ip6: ["saddr", "daddr", "length", "nexthdr", "hoplimit"],
  th: ["sport", "dport"],
  tcp: ["sport", "dport"],
  udp: ["sport", "dport"],
  sctp: ["sport", "dport"],
  udplite: ["sport", "dport"],
  dccp: ["sport", "dport"],
  icmp: ["type", "code"],
  icmpv6: ["type", "code"],
  ether: ["saddr"],
  arp: ["saddr ip", "saddr ether"],
};

function expr(j: unknown): Expr {
  if (!isObj(j)) return unrecognized();
  const [k, v] = only(j);
  if (k === "payload" && isObj(v) && v.base === "th") {
    const { offset, len } = v;
    if (typeof offset !== "number" || typeof len !== "number") return unrecognized();
    return { kind: "raw", base: "th", offset, len };
  }
  if (k === "payload" && isObj(v)) {
    const { protocol, field } = v as { protocol: string; field: string };
    if (!payloadFields[protocol]?.includes(field)) return unrecognized();
    return { kind: "payload", protocol, field } as Expr;
  }
  if (
    k === "meta" &&
    isObj(v) &&
    ["l4proto", "mark", "iifname", "oifname", "nfproto"].includes(v.key as string)
  ) {
    return { kind: "meta", key: v.key as "l4proto" };
  }
  if (k === "ct" && isObj(v) && v.key === "state" && v.dir === undefined)
    return { kind: "ct", key: "state" };
  // `ct original ip saddr` reads as key "ip saddr", dir "original".
  const ctAddress = k === "ct" && isObj(v) ? /^(ip6?) ([sd]addr)$/.exec(String(v.key)) : null;
  if (ctAddress && (v as Json).dir !== undefined) {
    const dir = (v as Json).dir;
    if (dir !== "original" && dir !== "reply") return unrecognized();
    return {
      kind: "ct",
      dir,
      protocol: ctAddress[1] as "ip" | "ip6",
      key: ctAddress[2] as "saddr" | "daddr",
    };
  }
  if (
    k === "numgen" &&
    isObj(v) &&
    v.mode === "random" &&
    typeof v.mod === "number" &&
    (v.offset ?? 0) === 0
  ) {
    return { kind: "numgen", mode: "random", mod: v.mod };
  }
  if (k === "concat" && Array.isArray(v)) return { kind: "concat", parts: v.map(expr) };
  if (k === "&" && Array.isArray(v) && v.length === 2 && typeof v[1] === "number") {
    return { kind: "and", expr: expr(v[0]), mask: v[1] };
  }
  return unrecognized();
}

function atomText(v: unknown): Atom {
  if (isAtom(v)) return v;
  if (isObj(v) && isObj(v.prefix)) {
    const { addr, len } = v.prefix as { addr: unknown; len: unknown };
    if (typeof addr === "string" && typeof len === "number") return `${addr}/${len}`;
  }
  return unrecognized();
}

function part(v: unknown): Part {
  if (isObj(v) && Array.isArray(v.range) && v.range.length === 2) {
    return { kind: "range", from: atomText(v.range[0]), to: atomText(v.range[1]) };
  }
  return atomText(v);
}

function value(v: unknown): Value {
  if (typeof v === "string" && v.startsWith("@")) return { kind: "ref", name: v.slice(1) };
  if (Array.isArray(v)) return { kind: "flags", values: v.map((s) => String(s) as CtState) };
  if (isObj(v) && Array.isArray(v.set)) return { kind: "anon", elements: v.set.map(part) };
  return part(v);
}

function verdict(j: Json): Verdict | undefined {
  const entries = Object.entries(j);
  if (entries.length !== 1) return undefined;
  const [k, v] = entries[0]!;
  if (["accept", "drop", "continue", "return"].includes(k) && v === null) {
    return { kind: k } as Verdict;
  }
  if ((k === "jump" || k === "goto") && isObj(v) && typeof v.target === "string") {
    return { kind: k, chain: v.target };
  }
  return undefined;
}

function markSet(v: unknown): { value: number; mask: number } {
  const all = 0xffffffff;
  if (typeof v === "number") return { value: v, mask: all };
  const isMark = (e: unknown) => isObj(e) && isObj(e.meta) && e.meta.key === "mark";
  if (!isObj(v)) return unrecognized();
  const [op, args] = only(v);
  if (!Array.isArray(args) || args.length !== 2 || typeof args[1] !== "number")
    return unrecognized();
  // (mark & keep) | bits: the bits under the mask are the cleared ones plus the ones set.
  if (op === "&" && isMark(args[0])) return { value: 0, mask: ~args[1] >>> 0 };
  if (op === "|" && isMark(args[0])) return { value: args[1], mask: args[1] };
  if (op === "|" && isObj(args[0])) {
    const [inner, innerArgs] = only(args[0]);
    if (
      inner === "&" &&
      Array.isArray(innerArgs) &&
      isMark(innerArgs[0]) &&
      typeof innerArgs[1] === "number"
    ) {
      return { value: args[1], mask: (~innerArgs[1] | args[1]) >>> 0 };
    }
  }
  return unrecognized();
}

/**
 * nft lists `meta mark & 0x80000000 == 0` (a mask of leading bits) as a prefix, `meta mark
 * 0x0/1`: the mask of such a match, read back as the `and` it was written as.
 */
function markPrefixMask(left: unknown, right: unknown): number | undefined {
  if (!isObj(left) || !isObj(left.meta) || left.meta.key !== "mark") return undefined;
  if (!isObj(right) || !isObj(right.prefix)) return undefined;
  const { addr, len } = right.prefix as { addr: unknown; len: unknown };
  if (typeof addr !== "number" || typeof len !== "number" || len < 1 || len > 32) return undefined;
  return (0xffffffff << (32 - len)) >>> 0;
}

function stmt(j: unknown): Stmt {
  if (!isObj(j)) return unrecognized();
  const v = verdict(j);
  if (v) return v;
  const [k, body] = only(j);
  if (k === "match" && isObj(body)) {
    const op =
      body.op === "!=" ? "!=" : body.op === "==" || body.op === "in" ? "==" : unrecognized();
    const mask = markPrefixMask(body.left, body.right);
    if (mask !== undefined) {
      const addr = (body.right as { prefix: { addr: number } }).prefix.addr;
      return {
        kind: "match",
        left: { kind: "and", expr: { kind: "meta", key: "mark" }, mask },
        op,
        right: addr,
      };
    }
    return { kind: "match", left: expr(body.left), op, right: value(body.right) };
  }
  if (k === "counter" && isObj(body)) {
    return { kind: "counter", packets: Number(body.packets), bytes: Number(body.bytes) };
  }
  if (k === "log" && isObj(body)) {
    const { prefix, group, ...rest } = body;
    if (Object.keys(rest).length) return unrecognized();
    return {
      kind: "log",
      ...(typeof prefix === "string" ? { prefix } : {}),
      ...(typeof group === "number" ? { group } : {}),
    };
  }
  if (
    k === "mangle" &&
    isObj(body) &&
    isObj(body.key) &&
    isObj(body.key.meta) &&
    body.key.meta.key === "mark"
  ) {
    const m = isObj(body.value) && isObj(body.value.map) ? body.value.map : undefined;
    if (m && typeof m.data === "string" && m.data.startsWith("@")) {
      return { kind: "markMap", key: expr(m.key), map: m.data.slice(1) };
    }
    return { kind: "mark", ...markSet(body.value) };
  }
  if (k === "vmap" && isObj(body) && typeof body.data === "string" && body.data.startsWith("@")) {
    return { kind: "vmap", key: expr(body.key), map: body.data.slice(1) };
  }
  if (k === "notrack" && body === null) return { kind: "notrack" };
  if (k === "reject" && (body === null || isObj(body))) {
    if (body === null || body.type === undefined) return { kind: "reject" };
    if (body.type === "tcp reset") return { kind: "reject", with: { type: "tcp reset" } };
    if (body.type === "icmpx" && typeof body.expr === "string") {
      return { kind: "reject", with: { type: "icmpx", code: body.expr } as RejectWith };
    }
  }
  return unrecognized();
}

function statement(j: unknown): Stmt {
  try {
    return stmt(j);
  } catch (e) {
    if (e instanceof Unrecognized) return { kind: "unknown", json: j };
    throw e;
  }
}

function element(j: unknown, isMap: boolean): ElementModel {
  const unwrap = (v: unknown) => (isObj(v) && isObj(v.elem) ? v.elem.val : v);
  // `{"elem": {"val": KEY, "comment": TEXT}}`: an element with a comment.
  const commentOf = (v: unknown) =>
    isObj(v) && isObj(v.elem) && typeof v.elem.comment === "string"
      ? { comment: v.elem.comment }
      : {};
  const keyParts = (k: unknown): Part[] =>
    isObj(k) && Array.isArray(k.concat) ? k.concat.map(part) : [part(k)];
  if (!isMap) return { key: keyParts(unwrap(j)), ...commentOf(j) };
  if (!Array.isArray(j) || j.length !== 2) return unrecognized();
  const data = j[1];
  const v = isObj(data) ? verdict(data) : undefined;
  return { key: keyParts(unwrap(j[0])), value: v ?? atomText(data), ...commentOf(j[0]) };
}

const asList = <T>(v: unknown): T[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]) as T[];

function setModel(j: Json, kind: "set" | "map"): SetModel {
  const model: SetModel = {
    kind,
    name: String(j.name),
    type: asList<SetKeyType>(j.type),
    flags: asList<SetFlag>(j.flags).sort(),
    elements: asList(j.elem).map((e) => element(e, kind === "map")),
  };
  if (kind === "map") model.value = j.map as "verdict" | SetKeyType;
  if (typeof j.comment === "string") model.comment = j.comment;
  if (typeof j.handle === "number") model.handle = j.handle;
  return model;
}

function chainModel(j: Json): ChainModel {
  const chain: ChainModel = { name: String(j.name), rules: [] };
  if (typeof j.handle === "number") chain.handle = j.handle;
  if (typeof j.hook === "string") {
    const base: BaseChain = {
      type: j.type as BaseChain["type"],
      hook: j.hook as BaseChain["hook"],
      priority: Number(j.prio),
    };
    if (j.policy === "accept" || j.policy === "drop") base.policy = j.policy;
    chain.base = base;
  }
  return chain;
}

function ruleModel(j: Json): RuleModel {
  const rule: RuleModel = { body: asList(j.expr).map(statement) };
  if (typeof j.comment === "string") rule.comment = j.comment;
  if (typeof j.handle === "number") rule.handle = j.handle;
  return rule;
}

/** Reads the output of `nft -j list table FAMILY NAME`; throws when it is not such output. */
export function parseTableJson(text: string): TableModel {
  const doc: unknown = JSON.parse(text);
  const items = isObj(doc) && Array.isArray(doc.nftables) ? doc.nftables : undefined;
  if (!items) throw new Error("not nft JSON output: no nftables array");
  let table: TableModel | undefined;
  const chains = new Map<string, ChainModel>();
  for (const item of items) {
    if (!isObj(item)) continue;
    const [kind, body] = Object.entries(item)[0] ?? [];
    if (!isObj(body)) continue;
    if (kind === "table") {
      table = { family: body.family as Family, name: String(body.name), chains: [], sets: [] };
    } else if (kind === "chain") {
      const c = chainModel(body);
      chains.set(c.name, c);
      table?.chains.push(c);
    } else if (kind === "set" || kind === "map") {
      try {
        table?.sets.push(setModel(body, kind));
      } catch (e) {
        if (!(e instanceof Unrecognized)) throw e;
        throw new Error(`cannot read elements of ${kind} ${String(body.name)}`);
      }
    } else if (kind === "rule") {
      chains.get(String(body.chain))?.rules.push(ruleModel(body));
    }
  }
  if (!table) throw new Error("nft JSON output names no table");
  return table;
}
