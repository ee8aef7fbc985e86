// One NFLOG record as ulogd2's JSON output plugin writes it (one object per line), reduced to
// what enrichment reads. The schema names ulogd2's keys; anything else in the line is ignored.
import type { z } from "zod";
import { type ParsedLogPrefix, parseLogPrefix } from "../dataplane/nftables/log-prefix.ts";

/** A packet's, or a connection's original direction's, addresses and ports. */
export interface Tuple {
  readonly family: 4 | 6;
  /** IP protocol number: 6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6. */
  readonly protocol: number;
  readonly sourceIp: string;
  readonly destIp: string;
  readonly sourcePort?: number;
  readonly destPort?: number;
}

export interface PacketLog extends Tuple {
  /** Milliseconds since the epoch, from the kernel's timestamp of the packet. */
  readonly time: number;
  /** The rule's prefix as the kernel reported it, and what it says (undefined: not ours). */
  readonly rawPrefix: string;
  readonly prefix: ParsedLogPrefix | undefined;
  /** The NFLOG group it came through (ulogd2's numeric_label, set per group). */
  readonly group: number;
  readonly icmpType?: number;
  /** Length of the packet in bytes. */
  readonly bytes: number;
  /** A TCP SYN without ACK, or any other protocol's packet: the packet that opens a connection. */
  readonly opensConnection: boolean;
  readonly inInterface?: string;
  readonly outInterface?: string;
}

const AF_INET = 2;
const AF_INET6 = 10;

export class PacketLogError extends Error {
  readonly code = "flows.bad-record";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`ulogd record: ${field}: ${message}`);
  }
}

/** One JSON line checked against a schema of ulogd2's keys; PacketLogError names the field. */
export function readUlogdRecord<T>(line: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new PacketLogError("(line)", "not JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PacketLogError(issue.path.join(".") || "(record)", issue.message);
  }
  return parsed.data;
}

/** ulogd2's `oob.family` (AF_INET, AF_INET6) as 4 or 6. */
export function ipFamily(family: number): 4 | 6 {
  if (family === AF_INET) return 4;
  if (family === AF_INET6) return 6;
  throw new PacketLogError("oob.family", "not IPv4 or IPv6");
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };
type Raw = Record<string, unknown>;

/** An integer field of the line, or undefined when absent; anything else names the field. */
function int(r: Raw, key: string): number | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new PacketLogError(key, `expected an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function required<T>(key: string, v: T | undefined): T {
  if (v === undefined) throw new PacketLogError(key, "missing");
  return v;
}

function text(r: Raw, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || typeof v === "string") return v;
  throw new PacketLogError(key, `expected a string, got ${JSON.stringify(v)}`);
}

/**
 * Prefixes are few (one per rule) and every record carries one: parsed once each. Bounded, so
 * a flood of foreign prefixes cannot grow it without end.
 */
const prefixes = new Map<string, ParsedLogPrefix | undefined>();

function prefixOf(raw: string): ParsedLogPrefix | undefined {
  const known = prefixes.get(raw);
  if (known !== undefined || prefixes.has(raw)) return known;
  if (prefixes.size >= 10_000) prefixes.clear();
  const parsed = parseLogPrefix(raw);
  prefixes.set(raw, parsed);
  return parsed;
}

/**
 * Parses one line of ulogd2's JSON output; throws PacketLogError naming the field. Checked by
 * hand rather than with a schema: this runs for every packet record, and the schema cost more
 * than JSON.parse of the line.
 */
export function parseUlogdLine(line: string): PacketLog {
  let r: Raw;
  try {
    r = JSON.parse(line);
  } catch {
    throw new PacketLogError("(line)", "not JSON");
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    throw new PacketLogError("(record)", "not an object");
  }
  const family = ipFamily(required("oob.family", int(r, "oob.family")));
  const protoKey = family === 4 ? "ip.protocol" : "ip6.nexthdr";
  const protocol = required(protoKey, int(r, protoKey));
  const bytes = required("raw.pktlen", int(r, "raw.pktlen"));
  if (bytes < 0) throw new PacketLogError("raw.pktlen", "negative");
  const rawPrefix = text(r, "oob.prefix") ?? "";
  const p: Writable<PacketLog> = {
    time:
      required("oob.time.sec", int(r, "oob.time.sec")) * 1000 +
      Math.floor(required("oob.time.usec", int(r, "oob.time.usec")) / 1000),
    rawPrefix,
    prefix: prefixOf(rawPrefix),
    group: int(r, "raw.label") ?? 0,
    family,
    protocol,
    sourceIp: required("src_ip", text(r, "src_ip")),
    destIp: required("dest_ip", text(r, "dest_ip")),
    bytes,
    opensConnection: protocol !== 6 || (int(r, "tcp.syn") === 1 && int(r, "tcp.ack") !== 1),
  };
  const sourcePort = int(r, "src_port");
  if (sourcePort !== undefined) p.sourcePort = sourcePort;
  const destPort = int(r, "dest_port");
  if (destPort !== undefined) p.destPort = destPort;
  const icmpType = int(r, family === 4 ? "icmp.type" : "icmpv6.type");
  if (icmpType !== undefined) p.icmpType = icmpType;
  const inInterface = text(r, "oob.in");
  if (inInterface) p.inInterface = inInterface;
  const outInterface = text(r, "oob.out");
  if (outInterface) p.outInterface = outInterface;
  return p;
}
