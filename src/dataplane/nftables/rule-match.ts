// A DpRule's match as nft statements. An nft rule is a conjunction, but a DpRule is not quite:
// an address set has a v4 and a v6 half, a port matches a range OR a named-port set, and
// "not these ports" also holds for packets that have no ports. So one DpRule becomes a list of
// alternatives, each one nft rule with the rule's action. The alternatives are built mutually
// exclusive (each one excludes what the earlier ones matched), so a Log rule logs a packet once
// and counters count it once.

import type { DpEntity, DpRule, PortRange, SetId, SetKind } from "../../engine/index.ts";
import type { IpFamily } from "../../net/cidr.ts";
import type { Expr, Stmt, Value } from "../../nft/index.ts";
import {
  anon,
  concat,
  eq,
  icmp,
  icmpv6,
  ip,
  ip6,
  meta,
  ne,
  protocolNumber,
  ref,
  th,
} from "../../nft/index.ts";
import type { IcmpMatch, Protocol } from "../../policy/index.ts";
import { prefixSetName, setName } from "./names.ts";
import { headerValue, mergedIntervals, mergedPorts } from "./set-elements.ts";

type Alternatives = Stmt[][];

/** No condition: matches every packet. */
const ANY: Alternatives = [[]];

const PORT_PROTOCOLS = ["tcp", "udp", "sctp", "udplite", "dccp"];
const PORT_NUMBERS = new Set(PORT_PROTOCOLS.map((p) => protocolNumber(p)!));

/** nft's spelling of a policy protocol: `TCP` -> tcp, 200 -> 200. */
export function nftProtocol(p: Protocol): string | number {
  return typeof p === "number" ? p : p.toLowerCase();
}

const hasPorts = (p: Protocol) => PORT_NUMBERS.has(protocolNumber(nftProtocol(p))!);

function product(a: Alternatives, b: Alternatives): Alternatives {
  return a.flatMap((x) => b.map((y) => [...x, ...y]));
}

interface Side {
  readonly address: "saddr" | "daddr";
  readonly port: "sport" | "dport";
}

const SOURCE: Side = { address: "saddr", port: "sport" };
const DESTINATION: Side = { address: "daddr", port: "dport" };

function familyDependent(e: DpEntity): boolean {
  return (
    e.set !== undefined ||
    e.notSet !== undefined ||
    e.nets !== undefined ||
    e.notNets !== undefined ||
    e.nodeSet !== undefined ||
    (e.namedPortSets?.length ?? 0) > 0 ||
    (e.notNamedPortSets?.length ?? 0) > 0
  );
}

/** Whether an address set holds prefixes of a family now (then rules consult its prefix set). */
export type HasPrefixes = (id: SetId, family: IpFamily) => boolean;

class RuleMatcher {
  constructor(
    private readonly rule: DpRule,
    /** Undefined when the rule matches no address, so one nft rule serves both families. */
    private readonly family: IpFamily | undefined,
    private readonly hasPrefixes: HasPrefixes,
  ) {}

  alternatives(): Alternatives {
    const r = this.rule;
    const head: Stmt[] = [];
    if (r.protocol !== undefined) head.push(eq(meta.l4proto, nftProtocol(r.protocol)));
    if (r.notProtocol !== undefined) head.push(ne(meta.l4proto, nftProtocol(r.notProtocol)));
    let alts: Alternatives = [head];
    for (const factor of [
      r.icmp ? this.icmp(r.icmp) : ANY,
      r.notIcmp ? this.notIcmp(r.notIcmp) : ANY,
      this.entity(r.source, SOURCE),
      this.entity(r.destination, DESTINATION),
    ]) {
      alts = product(alts, factor);
      if (alts.length === 0) return [];
    }
    return alts.flatMap((alt) => {
      const simple = simplifyIcmp(dedupe(alt));
      return simple ? this.withFamily(simple) : [];
    });
  }

  /**
   * The alternative tied to one address family: `meta nfproto` where nothing in it reads a
   * family's header; none when it reads headers of two families (an ICMP type of an IPv6
   * packet, an ICMPv6 type next to an IPv4 address), which nft refuses and no packet matches.
   */
  private withFamily(alt: Stmt[]): Stmt[][] {
    const read = new Set(alt.flatMap((s) => (s.kind === "match" ? familiesRead(s.left) : [])));
    const reads = read.size > 0;
    const target = this.family ?? this.rule.ipVersion;
    if (target !== undefined) read.add(target);
    if (read.size > 1) return [];
    if (target === undefined || reads) return [alt];
    return [[eq(meta.nfproto, target === 4 ? "ipv4" : "ipv6"), ...alt]];
  }

  /** ICMP headers a packet of the rule's protocol (and family) can carry. */
  private icmpHeaders(): Array<typeof icmp> {
    const p = this.rule.protocol;
    const f = this.family ?? this.rule.ipVersion;
    if (p === undefined) return f === 4 ? [icmp] : f === 6 ? [icmpv6] : [icmp, icmpv6];
    const n = protocolNumber(nftProtocol(p));
    return n === 1 ? [icmp] : n === 58 ? [icmpv6] : [];
  }

  private icmp(m: IcmpMatch): Alternatives {
    return this.icmpHeaders().map((h) => [
      eq(h.type, headerValue([m.type])),
      ...(m.code === undefined ? [] : [eq(h.code, headerValue([m.code]))]),
    ]);
  }

  /** Not (type and code): not ICMP at all, another type, or the type with another code. */
  private notIcmp(m: IcmpMatch): Alternatives {
    const headers = this.icmpHeaders();
    if (this.rule.protocol !== undefined && headers.length === 0) return ANY;
    const alts: Alternatives =
      this.rule.protocol === undefined ? [[ne(meta.l4proto, anon("icmp", "icmpv6"))]] : [];
    for (const h of headers) {
      alts.push([ne(h.type, headerValue([m.type]))]);
      if (m.code !== undefined) {
        alts.push([eq(h.type, headerValue([m.type])), ne(h.code, headerValue([m.code]))]);
      }
    }
    return alts;
  }

  private entity(e: DpEntity, side: Side): Alternatives {
    let alts: Alternatives = ANY;
    const f = this.family;
    if (f !== undefined) {
      const addr = (f === 4 ? ip : ip6)[side.address];
      if (e.set) alts = this.inSet(addr, e.set, "addresses", f);
      const conds: Stmt[] = [];
      if (e.notSet) {
        conds.push(ne(addr, ref(setName(e.notSet, "addresses", f))));
        if (this.hasPrefixes(e.notSet, f)) conds.push(ne(addr, ref(prefixSetName(e.notSet, f))));
      }
      if (e.nets) {
        const nets = e.nets.filter((c) => c.family === f).map((c) => c.text);
        if (nets.length === 0) return [];
        conds.push(eq(addr, headerValue(mergedIntervals(nets))));
      }
      const notNets = (e.notNets ?? []).filter((c) => c.family === f).map((c) => c.text);
      if (notNets.length > 0) conds.push(ne(addr, headerValue(mergedIntervals(notNets))));
      alts = product(alts, [conds]);
      if (e.nodeSet) alts = product(alts, this.inSet(addr, e.nodeSet, "nodes", f));
    }
    if (e.ports) alts = product(alts, this.ports(e.ports, e.namedPortSets ?? [], side));
    if (e.notPorts) alts = product(alts, this.notPorts(e.notPorts, e.notNamedPortSets ?? [], side));
    return alts;
  }

  /** In the set's hosts, or else in its prefixes (while it has any). */
  private inSet(addr: Expr, id: SetId, kind: SetKind, f: IpFamily): Alternatives {
    const hosts = ref(setName(id, kind, f));
    if (!this.hasPrefixes(id, f)) return [[eq(addr, hosts)]];
    return [[eq(addr, hosts)], [ne(addr, hosts), eq(addr, ref(prefixSetName(id, f)))]];
  }

  /** Reads of the transport port need a protocol that has one. */
  private portGuard(): Stmt[] | undefined {
    const p = this.rule.protocol;
    if (p === undefined) return [eq(meta.l4proto, anon(...PORT_PROTOCOLS))];
    return hasPorts(p) ? [] : undefined;
  }

  private namedPortKey(side: Side): Expr {
    const addr = (this.family === 6 ? ip6 : ip)[side.address];
    return concat(addr, meta.l4proto, th[side.port]);
  }

  private namedSet(id: SetId): ReturnType<typeof ref> {
    return ref(setName(id, "named-ports", this.family ?? 4));
  }

  /** In a range, or else in the first named-port set, or else in the second... */
  private ports(ranges: readonly PortRange[], named: readonly SetId[], side: Side): Alternatives {
    const guard = this.portGuard();
    if (!guard) return [];
    const alts: Alternatives = [];
    const excluded: Stmt[] = [];
    if (ranges.length > 0) {
      const parts = headerValue(mergedPorts(ranges));
      alts.push([...guard, eq(th[side.port], parts)]);
      excluded.push(ne(th[side.port], parts));
    }
    // The set match goes first: it holds only protocols with ports, so the port reads of the
    // exclusions after it never see a packet without one.
    for (const id of named) {
      const key = this.namedPortKey(side);
      alts.push([eq(key, this.namedSet(id)), ...excluded]);
      excluded.push(ne(key, this.namedSet(id)));
    }
    return alts;
  }

  /** A protocol without ports, or a port in none of the ranges and named-port sets. */
  private notPorts(
    ranges: readonly PortRange[],
    named: readonly SetId[],
    side: Side,
  ): Alternatives {
    if (ranges.length === 0 && named.length === 0) return ANY;
    const p = this.rule.protocol;
    if (p !== undefined && !hasPorts(p)) return ANY;
    const alts: Alternatives = [];
    if (p === undefined) alts.push([ne(meta.l4proto, anon(...PORT_PROTOCOLS))]);
    const outside: Stmt[] = [...(this.portGuard() ?? [])];
    if (ranges.length > 0) outside.push(ne(th[side.port], headerValue(mergedPorts(ranges))));
    for (const id of named) outside.push(ne(this.namedPortKey(side), this.namedSet(id)));
    alts.push(outside);
    return alts;
  }
}

// nft ties these headers to a family: an ICMP type is read from IPv4 packets only.
const familyOfHeader: Record<string, IpFamily> = { ip: 4, icmp: 4, ip6: 6, icmpv6: 6 };

function familiesRead(e: Expr): IpFamily[] {
  if (e.kind === "concat") return e.parts.flatMap(familiesRead);
  const f = e.kind === "payload" ? familyOfHeader[e.protocol] : undefined;
  return f === undefined ? [] : [f];
}

const icmpHeaderRead = (e: Expr) =>
  e.kind === "payload" && (e.protocol === "icmp" || e.protocol === "icmpv6");

/** `meta l4proto != { icmp, icmpv6 }`, the not-ICMP alternative of notIcmp. */
const excludesIcmp = (s: Stmt) =>
  s.kind === "match" &&
  s.op === "!=" &&
  s.left.kind === "meta" &&
  s.left.key === "l4proto" &&
  typeof s.right === "object" &&
  s.right.kind === "anon" &&
  s.right.elements.includes("icmp");

/** The number a rendered ICMP match compares with (written as a one-value range). */
const icmpValue = (v: Value): number =>
  typeof v === "object" && v.kind === "range" ? Number(v.from) : Number(v);

const portRead = (e: Expr): boolean =>
  e.kind === "concat" ? e.parts.some(portRead) : e.kind === "payload" && e.protocol === "th";

/**
 * An ICMP match next to the icmp (or notIcmp) alternatives: undefined when no packet can match
 * (two types, a type and its exclusion, ICMP with ports), else one match per header field, the
 * equality when there is one. nft merges adjacent ICMP field matches and lists them in its own
 * order, so only this one form reads back as written.
 */
function simplifyIcmp(alt: Stmt[]): Stmt[] | undefined {
  const fields = new Map<string, { eq?: number; ne: Set<number> }>();
  for (const s of alt) {
    if (s.kind !== "match" || !icmpHeaderRead(s.left)) continue;
    const key = JSON.stringify(s.left);
    const f = fields.get(key) ?? { ne: new Set<number>() };
    fields.set(key, f);
    const v = icmpValue(s.right);
    if (s.op === "!=") f.ne.add(v);
    else if (f.eq !== undefined && f.eq !== v) return undefined;
    else f.eq = v;
  }
  if (fields.size === 0) return alt;
  if (alt.some((s) => (s.kind === "match" && portRead(s.left)) || excludesIcmp(s)))
    return undefined;
  for (const f of fields.values()) if (f.eq !== undefined && f.ne.has(f.eq)) return undefined;
  return alt.filter(
    (s) =>
      s.kind !== "match" ||
      !icmpHeaderRead(s.left) ||
      s.op === "==" ||
      fields.get(JSON.stringify(s.left))!.eq === undefined,
  );
}

function dedupe(alt: Stmt[]): Stmt[] {
  const seen = new Set<string>();
  return alt.filter((s) => {
    const k = JSON.stringify(s);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The conditions of each nft rule that together match exactly the packets the DpRule matches
 * (as MemoryDataplane judges them); empty when it can match none.
 */
export function ruleAlternatives(rule: DpRule, hasPrefixes: HasPrefixes): Stmt[][] {
  const byFamily = familyDependent(rule.source) || familyDependent(rule.destination);
  if (!byFamily) return new RuleMatcher(rule, undefined, hasPrefixes).alternatives();
  const families: IpFamily[] = rule.ipVersion ? [rule.ipVersion] : [4, 6];
  return families.flatMap((f) => new RuleMatcher(rule, f, hasPrefixes).alternatives());
}
