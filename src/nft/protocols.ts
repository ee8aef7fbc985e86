// Layer-4 protocol names nft prints (from /etc/protocols) and their numbers, so a rule written
// with `6` and the live ruleset printing `tcp` compare equal.

const byName: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  dccp: 33,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  "ipv6-icmp": 58,
  sctp: 132,
  udplite: 136,
};

const canonicalName = new Map<number, string>(
  Object.entries(byName)
    .filter(([name]) => name !== "ipv6-icmp")
    .map(([name, num]) => [num, name]),
);

export function protocolNumber(p: string | number): number | undefined {
  if (typeof p === "number") return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  return byName[p];
}

/** The name microseg writes for a protocol: a known name, else the number. */
export function canonicalProtocol(p: string | number): string | number {
  const num = protocolNumber(p);
  if (num === undefined) return p;
  return canonicalName.get(num) ?? num;
}
