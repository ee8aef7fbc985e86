// IP address text <-> integers, so prefixes and ranges can be validated, compared for overlap
// and written in one canonical form however the caller or nft spelled them.

export type IpVersion = 4 | 6;

export interface Cidr {
  version: IpVersion;
  /** First address of the block. */
  base: bigint;
  bits: number;
}

const v4Part = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => v4Part.test(p))) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseHextets(text: string): number[] | undefined {
  if (text === "") return [];
  const out: number[] = [];
  for (const h of text.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
    out.push(Number.parseInt(h, 16));
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  let body = text;
  // An embedded IPv4 tail (::ffff:198.18.0.1) stands for the last two hextets.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseV4(tail);
    if (v4 === undefined) return undefined;
    body = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const head = parseHextets(halves[0] ?? "");
  const rest = halves.length === 2 ? parseHextets(halves[1] ?? "") : [];
  if (head === undefined || rest === undefined) return undefined;
  const given = head.length + rest.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const words = [...head, ...new Array<number>(8 - given).fill(0), ...rest];
  return words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

export function parseAddress(text: string): { version: IpVersion; value: bigint } | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  if (!text.includes(":")) return undefined;
  const v6 = parseV6(text);
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

export function widthOf(version: IpVersion): number {
  return version === 4 ? 32 : 128;
}

/** Parses `addr` or `addr/len`; undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
  const [addrText, lenText, extra] = text.split("/");
  if (addrText === undefined || extra !== undefined) return undefined;
  const addr = parseAddress(addrText);
  if (!addr) return undefined;
  const width = widthOf(addr.version);
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) return undefined;
  const bits = lenText === undefined ? width : Number(lenText);
  if (bits > width) return undefined;
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  if ((addr.value & hostMask) !== 0n) return undefined;
  return { version: addr.version, base: addr.value, bits };
}

export function formatAddress(version: IpVersion, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
  }
  const words = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((value >> s) & 0xffffn));
  // RFC 5952: compress the longest run (of two or more) of zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function formatCidr(c: Cidr): string {
  const addr = formatAddress(c.version, c.base);
  return c.bits === widthOf(c.version) ? addr : `${addr}/${c.bits}`;
}

/** Inclusive last address of a block. */
export function lastOf(c: Cidr): bigint {
  return c.base | ((1n << BigInt(widthOf(c.version) - c.bits)) - 1n);
}

/** The block [from, to] covers exactly, if it is one. */
export function rangeAsCidr(version: IpVersion, from: bigint, to: bigint): Cidr | undefined {
  const size = to - from + 1n;
  if (size <= 0n || (size & (size - 1n)) !== 0n || from % size !== 0n) return undefined;
  const bits = widthOf(version) - (size.toString(2).length - 1);
  return { version, base: from, bits };
}
