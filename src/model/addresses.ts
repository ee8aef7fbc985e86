// Strict address syntax in front of the shared parser: ipaddr.js also takes forms Kubernetes and
// Calico reject (octal or hex IPv4 parts, fewer than four parts, zone ids), so those are refused
// here before parsing.
import { type Address, type Cidr, tryParseAddress, tryParseCidr } from "../net/cidr.ts";

const IPV4 = /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;

function plainAddress(text: string): boolean {
  return text.includes(":") ? IPV6.test(text) : IPV4.test(text);
}

export function parseIp(text: string): Address | undefined {
  return plainAddress(text) ? tryParseAddress(text) : undefined;
}

/** `addr/prefix`; with `allowBareAddress`, a lone address stands for its host route (Calico). */
export function parseCidrText(text: string, allowBareAddress: boolean): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return allowBareAddress && plainAddress(text) ? tryParseCidr(text) : undefined;
  if (!plainAddress(text.slice(0, slash)) || !PREFIX.test(text.slice(slash + 1))) return undefined;
  return tryParseCidr(text);
}
