// The lab's address ranges: every address it configures lies in 198.18.0.0/15 (reserved for
// benchmarking) or fd00::/8 (unique local), so a lab never collides with a real network.
//
//   198.19.0.0/24, fd00:19::/64   node underlay addresses (node N: .N+1 and ::N+1)
//   the rest of 198.18.0.0/15      pod addresses, given by manifests or allocated
//   fd00:18::/96                   allocated pod IPv6 addresses (manifests may use any fd00::/8)

import { type Address, cidrContains, parseAddress, parseCidr } from "../net/cidr.ts";

const labV4 = parseCidr("198.18.0.0/15");
const labV6 = parseCidr("fd00::/8");
const underlayV4 = parseCidr("198.19.0.0/24");
const underlayV6 = parseCidr("fd00:19::/64");

/** Addresses of the whole /15, so allocation stops before it runs out of range. */
const v4Size = 2 ** 17;

export function underlayAddresses(nodeIndex: number): { ip: string; ip6: string } {
  return {
    ip: `198.19.0.${nodeIndex + 1}`,
    ip6: parseAddress(`fd00:19::${(nodeIndex + 1).toString(16)}`).text,
  };
}

/** Why `text` cannot be a pod address in the lab, or undefined when it can. */
export function podAddressProblem(text: string, family: 4 | 6): string | undefined {
  let addr: Address;
  try {
    addr = parseAddress(text);
  } catch {
    return `${text} is not an IP address`;
  }
  if (addr.family !== family) return `${text} is not an IPv${family} address`;
  const [range, reserved] = family === 4 ? [labV4, underlayV4] : [labV6, underlayV6];
  if (!cidrContains(range, addr)) return `${text} is outside the lab's ${range.text}`;
  if (cidrContains(reserved, addr)) return `${text} is in ${reserved.text}, kept for the nodes`;
  return undefined;
}

/** Canonical text, so that equal addresses compare equal as strings. */
export function canonical(text: string): string {
  return parseAddress(text).text;
}

/** The pair of addresses numbered `n`: 198.18.0.0 + n and fd00:18::n. */
function numbered(n: number): { ip: string; ip6: string } {
  const v4 = 0xc6120000 + n; // 198.18.0.0
  const ip = [24, 16, 8, 0].map((shift) => (v4 >>> shift) & 0xff).join(".");
  const ip6 = parseAddress(`fd00:18::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`).text;
  return { ip, ip6 };
}

/**
 * Hands out address pairs from a counter that only moves forward, skipping any address in
 * `taken` and the underlay, so a lab never gives an address to a second pod: a stale neighbour
 * or conntrack entry can never be mistaken for the new pod.
 */
export function allocate(
  from: number,
  taken: ReadonlySet<string>,
): { ip: string; ip6: string; next: number } {
  for (let n = Math.max(1, from); n < v4Size; n++) {
    const pair = numbered(n);
    if (podAddressProblem(pair.ip, 4) || taken.has(pair.ip) || taken.has(pair.ip6)) continue;
    return { ...pair, next: n + 1 };
  }
  throw new Error("the lab has handed out every address of 198.18.0.0/15");
}
