// IP protocol numbers as flow fields spell them (`proto`), lower case as Calico's flow logs do.
const PROTO_NAMES: Record<number, string> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "icmpv6",
  132: "sctp",
};

export const protoName = (n: number): string => PROTO_NAMES[n] ?? String(n);
