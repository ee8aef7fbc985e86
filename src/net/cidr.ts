// Addresses and CIDR blocks, IPv4 and IPv6, in a form that makes containment a byte compare.
import ipaddr from "ipaddr.js";

export type IpFamily = 4 | 6;

export interface Address {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
  /** Canonical text (IPv6 compressed, IPv4-mapped IPv6 kept as IPv6). */
  readonly text: string;
}

export interface Cidr {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
  readonly prefix: number;
  /** Canonical text with host bits cleared, e.g. `10.0.0.0/8`. */
  readonly text: string;
}

export class AddressError extends Error {
  readonly code = "net.address";
}

export function parseAddress(text: string): Address {
  if (!ipaddr.isValid(text)) throw new AddressError(`"${text}" is not an IP address`);
  const parsed = ipaddr.parse(text);
  const family: IpFamily = parsed.kind() === "ipv4" ? 4 : 6;
  return { family, bytes: Uint8Array.from(parsed.toByteArray()), text: parsed.toString() };
}

export function tryParseAddress(text: string): Address | undefined {
  return ipaddr.isValid(text) ? parseAddress(text) : undefined;
}

/** Parses `a.b.c.d/n`, `x::/n`, or a bare address (a host route). Host bits are cleared. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  const max = addr.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
    throw new AddressError(`"${text}" has an invalid prefix length (0-${max})`);
  }
  const bytes = maskBytes(addr.bytes, prefix);
  const base = ipaddr.fromByteArray([...bytes]).toString();
  return { family: addr.family, bytes, prefix, text: `${base}/${prefix}` };
}

export function tryParseCidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bits === 0 ? 0 : bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

export function cidrContains(cidr: Cidr, addr: Address): boolean {
  if (cidr.family !== addr.family) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== addr.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr.bytes[full]! & mask) === cidr.bytes[full];
}

/** True when every address of `inner` is inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return cidrContains(outer, { family: inner.family, bytes: inner.bytes, text: "" });
}

export function anyContains(cidrs: readonly Cidr[], addr: Address): boolean {
  for (const c of cidrs) if (cidrContains(c, addr)) return true;
  return false;
}
