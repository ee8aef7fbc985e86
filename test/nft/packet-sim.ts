// A packet walked through a table model the way the kernel walks it, so rendered rulesets can
// be judged against MemoryDataplane without root. It covers exactly the statements microseg
// renders. Header reads keep nft's implicit dependencies (`ip saddr` never matches an IPv6
// packet, `icmp type` only ICMP); a `th` port read of a packet without ports reads other header
// bytes in the kernel, so here a verdict that rests on it throws: no rendered rule may.

import { firstOf, integerOf, lastOf, parseAddress, parseCidr } from "../../src/net/cidr.ts";
import {
  type Atom,
  type ChainModel,
  type DataType,
  datatypesOf,
  type ElementModel,
  type Expr,
  icmpNumber,
  isIcmpType,
  type Part,
  protocolNumber,
  type SetModel,
  type Stmt,
  type TableModel,
  type Value,
  type Verdict,
} from "../../src/nft/index.ts";

export interface SimPacket {
  readonly family: 4 | 6;
  readonly saddr: string;
  readonly daddr: string;
  /** Protocol number. */
  readonly l4proto: number;
  readonly sport?: number;
  readonly dport?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly iifname?: string;
  readonly oifname?: string;
  readonly ctState?: "new" | "established" | "related" | "invalid";
  readonly mark?: number;
  /** The number `numgen random` draws for this packet; 0 when unset. */
  readonly draw?: number;
}

export interface SimResult {
  readonly verdict: "accept" | "drop";
  /** Log prefixes, in the order the packet met them. */
  readonly logs: string[];
  /** The packet's mark when it left the base chain. */
  readonly mark: number;
  /** The chains the packet entered, in order, each as `name@depth` (the base chain is 0). */
  readonly chains: string[];
}

const PORT_PROTOCOLS: Record<string, number> = {
  tcp: 6,
  udp: 17,
  sctp: 132,
  udplite: 136,
  dccp: 33,
};

/** A header the packet does not have: every match on it fails, == and != alike. */
const ABSENT = Symbol("absent");
/** Ports read from a packet without ports: other header bytes, whose value nobody knows. */
const UNKNOWN = Symbol("unknown");
type Read = bigint | number | string | typeof ABSENT | typeof UNKNOWN | Read[];

class State {
  mark: number;
  readonly logs: string[] = [];
  readonly chains: string[] = [];
  constructor(readonly p: SimPacket) {
    this.mark = p.mark ?? 0;
  }
}

function read(e: Expr, s: State): Read {
  const p = s.p;
  switch (e.kind) {
    case "payload":
      if (e.protocol === "ip" || e.protocol === "ip6") {
        if ((e.protocol === "ip") !== (p.family === 4)) return ABSENT;
        // Length, next header and hop limit: read by the bridge table only, not simulated.
        if (e.field !== "saddr" && e.field !== "daddr") return ABSENT;
        return integerOf(parseAddress(e.field === "saddr" ? p.saddr : p.daddr).bytes);
      }
      if (e.protocol === "icmp" || e.protocol === "icmpv6") {
        // nft reads ICMP types of IPv4 packets and ICMPv6 types of IPv6 packets only.
        const v4 = e.protocol === "icmp";
        if (p.l4proto !== (v4 ? 1 : 58) || p.family !== (v4 ? 4 : 6)) return ABSENT;
        return (e.field === "type" ? p.icmpType : p.icmpCode) ?? ABSENT;
      }
      // The simulator models IP packets of the inet family, not bridged frames.
      if (e.protocol === "ether" || e.protocol === "arp") return ABSENT;
      if (e.protocol !== "th" && PORT_PROTOCOLS[e.protocol] !== p.l4proto) return ABSENT;
      if (p.sport === undefined || p.dport === undefined) return UNKNOWN;
      return e.field === "sport" ? p.sport : p.dport;
    case "meta":
      switch (e.key) {
        case "l4proto":
          return p.l4proto;
        case "nfproto":
          return p.family === 4 ? "ipv4" : "ipv6";
        case "mark":
          return s.mark;
        case "iifname":
          return p.iifname ?? "";
        case "oifname":
          return p.oifname ?? "";
      }
      break;
    case "ct":
      // The simulated packets carry no connection tuple: only their state is known.
      return e.key === "state" ? (p.ctState ?? "new") : ABSENT;
    case "concat": {
      const parts = e.parts.map((x) => read(x, s));
      return parts.includes(ABSENT) ? ABSENT : parts;
    }
    case "and": {
      const v = read(e.expr, s);
      return typeof v === "number" ? (v & e.mask) >>> 0 : ABSENT;
    }
    case "numgen":
      // The packet's draw; 0 (sampled) unless the packet says otherwise.
      return (p.draw ?? 0) % e.mod;
    case "raw":
      // Raw header bits: the bridge table's neighbour discovery checks, not simulated.
      return ABSENT;
  }
}

function atomValue(a: Atom, type: DataType): bigint | number | string {
  switch (type) {
    case "ipv4_addr":
    case "ipv6_addr":
      return integerOf(parseAddress(String(a)).bytes);
    case "inet_proto":
      return protocolNumber(a)!;
    default:
      if (isIcmpType(type)) return icmpNumber(type, a)!;
      return a;
  }
}

function partMatches(part: Part, v: Read, type: DataType): boolean {
  if (typeof part === "object") {
    const from = atomValue(part.from, type);
    const to = atomValue(part.to, type);
    return (v as number) >= (from as number) && (v as number) <= (to as number);
  }
  if ((type === "ipv4_addr" || type === "ipv6_addr") && String(part).includes("/")) {
    const c = parseCidr(String(part));
    return (v as bigint) >= firstOf(c) && (v as bigint) <= lastOf(c);
  }
  if (type === "ifname" && String(part).endsWith("*")) {
    return String(v).startsWith(String(part).slice(0, -1));
  }
  return atomValue(part, type) === v;
}

// An unknown part only decides nothing when the known parts already miss (as a named-port
// key's protocol does for a packet without ports); otherwise the verdict would rest on it.
function keyMatches(key: Part[], v: Read, types: DataType[]): boolean {
  if (v === UNKNOWN) throw new Error("a rule's verdict rests on the ports of a packet without");
  if (types.length === 1) return partMatches(key[0]!, v, types[0]!);
  const parts = v as Read[];
  const known = key.every(
    (part, i) => parts[i] === UNKNOWN || partMatches(part, parts[i]!, types[i]!),
  );
  if (known && parts.includes(UNKNOWN)) {
    throw new Error("a rule's verdict rests on the ports of a packet without");
  }
  return known;
}

class Sim {
  readonly #chains: Map<string, ChainModel>;
  readonly #sets: Map<string, SetModel>;

  constructor(table: TableModel) {
    this.#chains = new Map(table.chains.map((c) => [c.name, c]));
    this.#sets = new Map(table.sets.map((x) => [x.name, x]));
  }

  set(name: string): SetModel {
    const s = this.#sets.get(name);
    if (!s) throw new Error(`no set ${name}`);
    return s;
  }

  inValue(value: Value, v: Read, types: DataType[]): boolean {
    if (v === UNKNOWN) throw new Error("a rule's verdict rests on the ports of a packet without");
    if (typeof value !== "object") return partMatches(value, v, types[0]!);
    switch (value.kind) {
      case "range":
        return partMatches(value, v, types[0]!);
      case "ref":
        return this.set(value.name).elements.some((el) => keyMatches(el.key, v, types));
      case "anon":
        return value.elements.some((p) => partMatches(p, v, types[0]!));
      case "flags":
        return (value.values as string[]).includes(v as string);
    }
  }

  /** The map's value for the packet's key; undefined when it has none (the rule ends). */
  lookup(key: Expr, name: string, s: State): ElementModel["value"] {
    const v = read(key, s);
    if (v === ABSENT) return undefined;
    const map = this.set(name);
    return map.elements.find((e) => keyMatches(e.key, v, map.type))?.value;
  }

  /** "continue" when the chain ends or returns; otherwise the packet's fate. */
  run(chain: string, s: State, depth = 0): "continue" | "accept" | "drop" {
    if (depth > 16) throw new Error("jumps nest too deep");
    const c = this.#chains.get(chain);
    if (!c) throw new Error(`no chain ${chain}`);
    s.chains.push(`${chain}@${depth}`);
    for (const rule of c.rules) {
      const outcome = this.rule(rule.body, s, depth);
      if (outcome === "next") continue;
      if (outcome === "return") return "continue";
      return outcome;
    }
    return "continue";
  }

  verdict(v: Verdict, s: State, depth: number): "next" | "return" | "accept" | "drop" {
    switch (v.kind) {
      case "accept":
      case "drop":
        return v.kind;
      case "continue":
        return "next";
      case "return":
        return "return";
      case "jump": {
        const r = this.run(v.chain, s, depth + 1);
        return r === "continue" ? "next" : r;
      }
      case "goto": {
        const r = this.run(v.chain, s, depth + 1);
        return r === "continue" ? "return" : r;
      }
    }
  }

  rule(body: Stmt[], s: State, depth: number): "next" | "return" | "accept" | "drop" {
    for (const stmt of body) {
      switch (stmt.kind) {
        case "match": {
          const v = read(stmt.left, s);
          if (v === ABSENT) return "next";
          const hit = this.inValue(stmt.right, v, datatypesOf(stmt.left));
          if (hit !== (stmt.op === "==")) return "next";
          break;
        }
        case "counter":
          break;
        case "log":
          s.logs.push(stmt.prefix ?? "");
          break;
        case "mark":
          s.mark = ((s.mark & ~stmt.mask) | stmt.value) >>> 0;
          break;
        case "markMap": {
          const value = this.lookup(stmt.key, stmt.map, s);
          if (value === undefined) return "next";
          s.mark = Number(value) >>> 0;
          break;
        }
        case "vmap": {
          const value = this.lookup(stmt.key, stmt.map, s);
          if (value === undefined) return "next";
          return this.verdict(value as Verdict, s, depth);
        }
        case "accept":
        case "drop":
        case "continue":
        case "return":
        case "jump":
        case "goto":
          return this.verdict(stmt, s, depth);
        default:
          throw new Error(`the simulator has no ${stmt.kind} statement`);
      }
    }
    return "next";
  }
}

/** Judges packets against one table: each packet through one base chain (policy accept). */
export function simulator(table: TableModel): (hook: string, packet: SimPacket) => SimResult {
  const sim = new Sim(table);
  return (hook, packet) => {
    const s = new State(packet);
    const outcome = sim.run(hook, s);
    return {
      verdict: outcome === "drop" ? "drop" : "accept",
      logs: s.logs,
      mark: s.mark,
      chains: s.chains,
    };
  };
}
