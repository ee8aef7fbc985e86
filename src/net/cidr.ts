// Addresses and CIDR blocks, IPv4 and IPv6: the one address library. Bytes make containment a
// byte compare; the integer view (firstOf, lastOf, rangeAsCidr) serves interval arithmetic.
// Parsing is strict, as Go's net.ParseIP: dotted-quad IPv4 without leading zeros, IPv6 without
// a zone; the canonical text is RFC 5952.
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

function isStrictAddress(text: string): boolean {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return true;
  if (!text.includes(":") || text.includes("%") || !ipaddr.IPv6.isValid(text)) return false;
  const tail = text.slice(text.lastIndexOf(":") + 1);
  return !tail.includes(".") || ipaddr.IPv4.isValidFourPartDecimal(tail);
}

/**
 * The common case without ipaddr.js's three passes: strict dotted-quad text (four decimal
 * octets, no leading zeros) is canonical. By character codes: a regular expression's match
 * array per address was 0.4 KiB of garbage per pod at cold start.
 */
function parseDottedQuad(text: string): Address | undefined {
  const bytes = new Uint8Array(4);
  let octet = 0;
  let digits = 0;
  let part = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (digits === 0 || part === 4) return undefined;
      bytes[part++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= ZERO && c <= ZERO + 9) {
      if (digits === 1 && octet === 0) return undefined; // a leading zero
      octet = octet * 10 + (c - ZERO);
      if (++digits > 3 || octet > 255) return undefined;
    } else return undefined;
  }
  return part === 4 ? { family: 4, bytes, text } : undefined;
}

const DOT = 46;
const ZERO = 48;

export function parseAddress(text: string): Address {
  const quad = parseDottedQuad(text);
  if (quad) return quad;
  if (!isStrictAddress(text)) throw new AddressError(`"${text}" is not an IP address`);
  const parsed = ipaddr.parse(text);
  const family: IpFamily = parsed.kind() === "ipv4" ? 4 : 6;
  return { family, bytes: Uint8Array.from(parsed.toByteArray()), text: parsed.toString() };
}

export function tryParseAddress(text: string): Address | undefined {
  return parseDottedQuad(text) ?? (isStrictAddress(text) ? parseAddress(text) : undefined);
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

/** `addr` or `addr/len` with no host bits set (the exact spelling of one block), else undefined. */
export function parseExactCidr(text: string): Cidr | undefined {
  const cidr = tryParseCidr(text);
  if (!cidr) return undefined;
  const slash = text.indexOf("/");
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  return addr.bytes.every((b, i) => b === cidr.bytes[i]) ? cidr : undefined;
}

export const widthOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

export const isHostCidr = (c: Cidr): boolean => c.prefix === widthOf(c.family);

/** A host block as its bare address (`198.18.0.1`), any other as `base/len`: nft's spelling. */
export function shortText(c: Cidr): string {
  return isHostCidr(c) ? c.text.slice(0, c.text.indexOf("/")) : c.text;
}

/** The address as an unsigned integer. */
export function integerOf(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function addressOf(family: IpFamily, value: bigint): Address {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1, v = value; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return { family, bytes, text: ipaddr.fromByteArray([...bytes]).toString() };
}

export const firstOf = (c: Cidr): bigint => integerOf(c.bytes);

/** Inclusive last address of a block. */
export function lastOf(c: Cidr): bigint {
  return firstOf(c) | ((1n << BigInt(widthOf(c.family) - c.prefix)) - 1n);
}

/** The block [from, to] covers exactly, if it is one. */
export function rangeAsCidr(family: IpFamily, from: bigint, to: bigint): Cidr | undefined {
  const size = to - from + 1n;
  if (size <= 0n || (size & (size - 1n)) !== 0n || from % size !== 0n) return undefined;
  const prefix = widthOf(family) - (size.toString(2).length - 1);
  const base = addressOf(family, from);
  return { family, bytes: base.bytes, prefix, text: `${base.text}/${prefix}` };
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
