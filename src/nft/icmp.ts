// The names nft prints for ICMP and ICMPv6 types and codes (`nft describe icmp type` and
// friends, nft 1.0.6). microseg writes numbers; a live rule reads back with these names, so both
// are brought to the number before they are compared.

import type { DataType } from "./ast.ts";

type IcmpType = Extract<DataType, "icmp_type" | "icmp_code" | "icmpv6_type" | "icmpv6_code">;

const names: Record<IcmpType, Record<string, number>> = {
  icmp_type: {
    "echo-reply": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    redirect: 5,
    "echo-request": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
    "info-request": 15,
    "info-reply": 16,
    "address-mask-request": 17,
    "address-mask-reply": 18,
  },
  icmp_code: {
    "net-unreachable": 0,
    "host-unreachable": 1,
    "prot-unreachable": 2,
    "port-unreachable": 3,
    "frag-needed": 4,
    "net-prohibited": 9,
    "host-prohibited": 10,
    "admin-prohibited": 13,
  },
  icmpv6_type: {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "nd-router-solicit": 133,
    "nd-router-advert": 134,
    "nd-neighbor-solicit": 135,
    "nd-neighbor-advert": 136,
    "nd-redirect": 137,
    "router-renumbering": 138,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
  },
  icmpv6_code: {
    "no-route": 0,
    "admin-prohibited": 1,
    "addr-unreachable": 3,
    "port-unreachable": 4,
    "policy-fail": 5,
    "reject-route": 6,
  },
};

export function isIcmpType(type: DataType | undefined): type is IcmpType {
  return type !== undefined && type in names;
}

/** The number of an ICMP type or code given by name or number; undefined when neither. */
export function icmpNumber(type: IcmpType, value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined;
  }
  return names[type][value];
}
