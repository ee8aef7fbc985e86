// One connection's end as ulogd2's NFCT input reports it (a conntrack DESTROY event, written by
// its own JSON output instance): the original direction's 5-tuple and the packets and bytes both
// directions moved. The counters are there because the agent turns on the node's conntrack
// accounting (nf_conntrack_acct); the times because it turns on nf_conntrack_timestamp.
import { z } from "zod";
import { ipFamily, readUlogdRecord, type Tuple } from "./packet-log.ts";

export interface ConnectionEnd extends Tuple {
  /** When the connection ended (ms since the epoch): the kernel's stop time, else the record's. */
  readonly time: number;
  /** When it started, when the kernel timestamps connections. */
  readonly start?: number;
  /** Both directions together, as a flow record counts them. */
  readonly packets: number;
  readonly bytes: number;
}

const count = z.number().int().nonnegative();

const NfctRecordSchema = z.looseObject({
  "oob.family": z.number().int(),
  "orig.ip.protocol": z.number().int(),
  src_ip: z.string(),
  dest_ip: z.string(),
  "orig.l4.sport": z.number().int().optional(),
  "orig.l4.dport": z.number().int().optional(),
  "orig.raw.pktcount": count,
  "orig.raw.pktlen": count,
  "reply.raw.pktcount": count,
  "reply.raw.pktlen": count,
  "flow.start.sec": z.number().int().optional(),
  "flow.start.usec": z.number().int().optional(),
  "flow.end.sec": z.number().int().optional(),
  "flow.end.usec": z.number().int().optional(),
});

const ms = (sec: number | undefined, usec: number | undefined) =>
  sec === undefined ? undefined : sec * 1000 + Math.floor((usec ?? 0) / 1000);

/** Parses one line of the NFCT output; throws PacketLogError naming the field. */
export function parseConntrackLine(line: string, now: number): ConnectionEnd {
  const r = readUlogdRecord(line, NfctRecordSchema);
  const family = ipFamily(r["oob.family"]);
  const start = ms(r["flow.start.sec"], r["flow.start.usec"]);
  return {
    time: ms(r["flow.end.sec"], r["flow.end.usec"]) ?? now,
    ...(start !== undefined ? { start } : {}),
    family,
    protocol: r["orig.ip.protocol"],
    sourceIp: r.src_ip,
    destIp: r.dest_ip,
    ...(r["orig.l4.sport"] !== undefined ? { sourcePort: r["orig.l4.sport"] } : {}),
    ...(r["orig.l4.dport"] !== undefined ? { destPort: r["orig.l4.dport"] } : {}),
    packets: r["orig.raw.pktcount"] + r["reply.raw.pktcount"],
    bytes: r["orig.raw.pktlen"] + r["reply.raw.pktlen"],
  };
}
