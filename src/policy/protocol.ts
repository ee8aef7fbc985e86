// Protocol names and numbers, so every spelling of one protocol compares equal.
import type { Protocol } from "./types.ts";

const PROTOCOL_NAMES: Record<string, Protocol> = {
  tcp: "TCP",
  udp: "UDP",
  sctp: "SCTP",
  icmp: "ICMP",
  icmpv6: "ICMPv6",
  udplite: "UDPLite",
};
const PROTOCOL_NUMBERS: Record<number, Protocol> = {
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  58: "ICMPv6",
  132: "SCTP",
  136: "UDPLite",
};

/** Names and numbers of the same protocol compare equal: 6 is TCP. */
export function normalizeProtocol(p: string | number): Protocol {
  const n = typeof p === "number" ? p : /^\d+$/.test(p) ? Number(p) : undefined;
  if (n !== undefined) return PROTOCOL_NUMBERS[n] ?? n;
  return PROTOCOL_NAMES[String(p).toLowerCase()] ?? (p as Protocol);
}
