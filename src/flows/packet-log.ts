// One NFLOG record as ulogd2's JSON output plugin writes it (one object per line), reduced to
// what enrichment reads. The schema names ulogd2's keys; anything else in the line is ignored.
import { z } from "zod";
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

const UlogdRecordSchema = z.looseObject({
  "oob.time.sec": z.number().int(),
  "oob.time.usec": z.number().int(),
  "oob.prefix": z.string().default(""),
  "oob.family": z.number().int(),
  "raw.label": z.number().int().default(0),
  "raw.pktlen": z.number().int().nonnegative(),
  "ip.protocol": z.number().int().optional(),
  "ip6.nexthdr": z.number().int().optional(),
  src_ip: z.string(),
  dest_ip: z.string(),
  src_port: z.number().int().optional(),
  dest_port: z.number().int().optional(),
  "icmp.type": z.number().int().optional(),
  "icmpv6.type": z.number().int().optional(),
  "tcp.syn": z.number().int().optional(),
  "tcp.ack": z.number().int().optional(),
  "oob.in": z.string().optional(),
  "oob.out": z.string().optional(),
});

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

/** Parses one line of ulogd2's JSON output; throws PacketLogError naming the field. */
export function parseUlogdLine(line: string): PacketLog {
  const r = readUlogdRecord(line, UlogdRecordSchema);
  const family = ipFamily(r["oob.family"]);
  const protocol = family === 4 ? r["ip.protocol"] : r["ip6.nexthdr"];
  if (protocol === undefined) {
    throw new PacketLogError(family === 4 ? "ip.protocol" : "ip6.nexthdr", "missing");
  }
  const icmpType = family === 4 ? r["icmp.type"] : r["icmpv6.type"];
  const opensConnection = protocol !== 6 || (r["tcp.syn"] === 1 && r["tcp.ack"] !== 1);
  return {
    time: r["oob.time.sec"] * 1000 + Math.floor(r["oob.time.usec"] / 1000),
    rawPrefix: r["oob.prefix"],
    prefix: parseLogPrefix(r["oob.prefix"]),
    group: r["raw.label"],
    family,
    protocol,
    sourceIp: r.src_ip,
    destIp: r.dest_ip,
    ...(r.src_port !== undefined ? { sourcePort: r.src_port } : {}),
    ...(r.dest_port !== undefined ? { destPort: r.dest_port } : {}),
    ...(icmpType !== undefined ? { icmpType } : {}),
    bytes: r["raw.pktlen"],
    opensConnection,
    ...(r["oob.in"] ? { inInterface: r["oob.in"] } : {}),
    ...(r["oob.out"] ? { outInterface: r["oob.out"] } : {}),
  };
}
