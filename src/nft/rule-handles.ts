// The handles of a table's rules, chain by chain in chain order, read straight from the kernel
// with one netlink dump (NFT_MSG_GETRULE). In-place rule edits (delete, insert, replace by
// handle) need the handles the kernel gave to rules it just added; libnftables 1.0.6 can only
// tell them by echoing the batch (`nft -e -a`) or listing the chain, and both fill its full
// cache first, every element of every set (about 1 s with 200,000 elements), while this dump
// carries the rules of the chains asked for and nothing else.
//
// The calls block, so they run on the session's worker thread, which is in the target's
// network namespace: the socket opened there belongs to it.

import koffi from "koffi";
import type { Family } from "./ast.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_NETFILTER = 12;
const MSG_TRUNC = 0x20;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
/** Set on dump messages when the ruleset changed while it was being dumped. */
const NLM_F_DUMP_INTR = 0x10;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_NEWRULE = 6;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_HANDLE = 3;
const NLA_TYPE_MASK = 0x3fff;

const FAMILY: Record<Family, number> = { inet: 1, ip: 2, bridge: 7, ip6: 10 };

/** Chain name -> handles of its rules, first rule first. */
export type RuleHandles = Map<string, number[]>;

const align4 = (n: number) => (n + 3) & ~3;

function attribute(type: number, text: string): Buffer {
  const value = Buffer.from(`${text}\0`);
  const out = Buffer.alloc(4 + align4(value.length));
  out.writeUInt16LE(4 + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

/** One dump request: the table's rules, or one chain's. */
export function ruleDumpRequest(
  family: Family,
  table: string,
  chain: string | undefined,
  seq: number,
): Buffer {
  const attrs = [attribute(NFTA_RULE_TABLE, table)];
  if (chain !== undefined) attrs.push(attribute(NFTA_RULE_CHAIN, chain));
  const body = Buffer.concat(attrs);
  const msg = Buffer.alloc(16 + 4 + body.length);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, 4);
  msg.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  msg.writeUInt32LE(seq, 8);
  msg.writeUInt32LE(0, 12);
  msg.writeUInt8(FAMILY[family], 16);
  body.copy(msg, 20);
  return msg;
}

/**
 * Adds the rules of one received datagram to `out`; true once the dump is done. Throws on the
 * kernel's error (its errno) and on an interrupted dump.
 */
export function parseRuleDump(buf: Buffer, seq: number, out: RuleHandles): boolean {
  for (let at = 0; at + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(at);
    if (len < 16 || at + len > buf.length) throw new Error("netlink: truncated message");
    const type = buf.readUInt16LE(at + 4);
    const flags = buf.readUInt16LE(at + 6);
    if (buf.readUInt32LE(at + 8) === seq) {
      if (flags & NLM_F_DUMP_INTR) throw new Error("netlink: the ruleset changed during the dump");
      if (type === NLMSG_DONE) return true;
      if (type === NLMSG_ERROR) {
        const errno = -buf.readInt32LE(at + 16);
        if (errno === 0) return true;
        throw Object.assign(new Error(`netlink: rule dump failed (errno ${errno})`), { errno });
      }
      if (type === ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE))
        ruleOf(buf, at + 20, at + len, out);
    }
    at += align4(len);
  }
  return false;
}

function ruleOf(buf: Buffer, from: number, to: number, out: RuleHandles): void {
  let chain: string | undefined;
  let handle: number | undefined;
  for (let at = from; at + 4 <= to; ) {
    const len = buf.readUInt16LE(at);
    if (len < 4) break;
    const type = buf.readUInt16LE(at + 2) & NLA_TYPE_MASK;
    if (type === NFTA_RULE_CHAIN)
      chain = buf.toString("utf8", at + 4, at + len).replace(/\0+$/, "");
    else if (type === NFTA_RULE_HANDLE) handle = Number(buf.readBigUInt64BE(at + 4));
    at += align4(len);
  }
  if (chain === undefined || handle === undefined)
    throw new Error("netlink: a rule without chain or handle");
  const handles = out.get(chain);
  if (handles) handles.push(handle);
  else out.set(chain, [handle]);
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer,
    addrlen: number,
  ): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;
function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    sendto: lib.func("long sendto(int, const void *, size_t, int, const void *, uint32_t)"),
    recv: lib.func("long recv(int, _Out_ void *, size_t, int)"),
    close: lib.func("int close(int)"),
  };
  return libc;
}

/** Dumps are sent in datagrams of at most a few pages; this holds any of them whole. */
const RECEIVE_BYTES = 1 << 20;

/**
 * The handles of the rules of `chains` (every chain of the table when undefined), read in the
 * calling thread's network namespace. A chain asked for but absent is missing from the answer.
 */
export function readRuleHandles(
  family: Family,
  table: string,
  chains: readonly string[] | undefined,
): RuleHandles {
  const c = load();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) throw new Error(`netlink socket failed (errno ${koffi.errno()})`);
  const out: RuleHandles = new Map();
  try {
    const kernel = Buffer.alloc(12);
    kernel.writeUInt16LE(AF_NETLINK, 0);
    const buf = Buffer.alloc(RECEIVE_BYTES);
    let seq = 0;
    for (const chain of chains ?? [undefined]) {
      seq++;
      const req = ruleDumpRequest(family, table, chain, seq);
      if (c.sendto(fd, req, req.length, 0, kernel, kernel.length) !== req.length) {
        throw new Error(`netlink send failed (errno ${koffi.errno()})`);
      }
      for (let done = false; !done; ) {
        const n = c.recv(fd, buf, buf.length, MSG_TRUNC);
        if (n < 0) throw new Error(`netlink receive failed (errno ${koffi.errno()})`);
        if (n > buf.length) throw new Error(`netlink: a ${n}-byte datagram did not fit`);
        try {
          done = parseRuleDump(buf.subarray(0, n), seq, out);
        } catch (e) {
          // No such chain (it may have been removed): it is left out of the answer.
          if ((e as { errno?: number }).errno === 2 && chain !== undefined) break;
          throw e;
        }
      }
    }
  } finally {
    c.close(fd);
  }
  return out;
}
