// Decides what may be written into an nft script. nft has no escape mechanism in names or
// quoted strings, so anything that could change the meaning of the script is refused here,
// before a transaction reaches the kernel.

import { parseExactCidr, tryParseAddress } from "../net/cidr.ts";
import type {
  Atom,
  Command,
  DataType,
  Element,
  Expr,
  NftObject,
  ObjectRef,
  Part,
  SetKeyType,
  Stmt,
  Value,
  Verdict,
} from "./ast.ts";
import { terminalKinds } from "./ast.ts";
import { icmpNumber } from "./icmp.ts";
import { protocolNumber } from "./protocols.ts";
import { datatypesOf } from "./syntax.ts";

// Words nft 1.0.6's scanner turns into keywords even where a table, chain or set name is
// expected (measured: each was tried as a name and refused). A name containing "_", "." or an
// upper-case letter can never be one of them.
const reserved = new Set(
  `accept add ah all arp auto-merge bridge cgroup chain comment comp constant continue counter cpu
  create ct day dccp define delete describe device devices dnat drop dst dup dynamic ecn element
  elements esp ether exists expires export exthdr fib flags flow flowtable flush frag fwd
  gc-interval get goto handle hbh hook hour ibriport ibrname icmp icmpv6 igmp iif iifgroup iifname
  iiftype import include index inet insert interval ip ip6 ipsec jhash jump limit list ll log map
  mark masquerade meta meter mh missing monitor netdev nftrace nh notrack numgen obriport obrname
  offload oif oifgroup oifname oiftype osf pkttype policy position priority queue quota random
  redefine redirect reject rename replace reset return rt rt0 rt2 rtclassid rule ruleset sctp
  secmark set size skgid skuid snat socket srh symhash synproxy table tcp th time timeout tproxy
  type typeof udp udplite undefine update vlan vmap xt`.split(/\s+/),
);

const namePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const maxName = 255;

export function nameError(what: string, name: string): string | undefined {
  if (!namePattern.test(name) || name.length > maxName) {
    return `${what} name ${JSON.stringify(name)} must match ${namePattern} and be at most ${maxName} characters`;
  }
  if (reserved.has(name)) return `${what} name ${JSON.stringify(name)} is an nft keyword`;
  return undefined;
}

// A quoted nft string ends at the next double quote and nothing in it can be escaped; control
// characters would break the one-command-per-line script.
function quotedError(what: string, s: string, maxBytes: number, extra = ""): string | undefined {
  if (/["\p{Cc}]/u.test(s) || (extra && s.includes(extra))) {
    const also = extra ? ` or ${JSON.stringify(extra)}` : "";
    return `${what} ${JSON.stringify(s)} must not contain double quotes${also} or control characters`;
  }
  if (Buffer.byteLength(s) > maxBytes) return `${what} is longer than ${maxBytes} bytes`;
  return undefined;
}

export const commentError = (s: string) => quotedError("comment", s, 128);
// nft expands $variables inside log prefixes; the kernel keeps 127 bytes.
export const prefixError = (s: string) => quotedError("log prefix", s, 127, "$");

const isUint = (n: unknown, max: number): n is number =>
  typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= max;

const ctStates = new Set(["invalid", "established", "related", "new", "untracked"]);

export function atomError(atom: Atom, type: DataType): string | undefined {
  const bad = `${JSON.stringify(atom)} is not a valid ${type}`;
  switch (type) {
    case "ipv4_addr":
    case "ipv6_addr": {
      const c = typeof atom === "string" ? parseExactCidr(atom) : undefined;
      if (!c || c.family !== (type === "ipv4_addr" ? 4 : 6)) {
        const addr =
          typeof atom === "string" ? tryParseAddress(atom.split("/")[0] ?? "") : undefined;
        return addr ? `${bad} (host bits set or bad prefix length)` : bad;
      }
      return undefined;
    }
    case "inet_service":
      return isUint(atom, 65535) ? undefined : bad;
    case "inet_proto":
      return protocolNumber(atom) === undefined ? bad : undefined;
    case "mark":
      return isUint(atom, 0xffffffff) ? undefined : bad;
    case "ifname":
      return typeof atom === "string" && /^[A-Za-z0-9_.:@*-]{1,15}$/.test(atom) ? undefined : bad;
    case "ether_addr":
      return typeof atom === "string" && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(atom)
        ? undefined
        : bad;
    case "ct_state":
      return typeof atom === "string" && ctStates.has(atom) ? undefined : bad;
    case "nf_proto":
      return atom === "ipv4" || atom === "ipv6" ? undefined : bad;
    case "integer":
      return isUint(atom, Number.MAX_SAFE_INTEGER) ||
        (typeof atom === "string" && /^0x[0-9a-f]+$/.test(atom))
        ? undefined
        : bad;
    case "icmp_type":
    case "icmp_code":
    case "icmpv6_type":
    case "icmpv6_code":
      return icmpNumber(type, atom) === undefined ? bad : undefined;
  }
}

export function partError(part: Part, type: DataType): string | undefined {
  if (typeof part !== "object") return atomError(part, type);
  if (type === "ifname" || type === "ether_addr" || type === "ct_state" || type === "nf_proto")
    return `${type} cannot be a range`;
  return atomError(part.from, type) ?? atomError(part.to, type);
}

/** Parts as set elements: the key's types are not known here, only the shapes nft can parse. */
function plainPartError(part: Part): string | undefined {
  if (typeof part === "object") return plainAtomError(part.from) ?? plainAtomError(part.to);
  return plainAtomError(part);
}

function plainAtomError(a: string | number): string | undefined {
  if (typeof a === "number" ? isUint(a, 0xffffffff) : /^[0-9A-Za-z.:/_-]+$/.test(a)) return;
  return `element part ${JSON.stringify(a)} is neither a number nor an address, prefix or name`;
}

/** A key as nft reads it, to find one named twice: `198.18.0.1 . 6 . 80-89`. */
export const elementKeyText = (key: readonly Part[]): string =>
  key.map((p) => (typeof p === "object" ? `${p.from}-${p.to}` : String(p))).join(" . ");

/** One element; its value only where it is written (`withValue`: add and create, not delete). */
function elementError(el: Element, withValue: boolean): string | undefined {
  if (el.key.length === 0) return "an element needs a key";
  if (el.comment !== undefined) {
    const e = commentError(el.comment);
    if (e) return e;
  }
  for (const p of el.key) {
    const e = plainPartError(p);
    if (e) return e;
  }
  if (el.value === undefined || !withValue) return undefined;
  return typeof el.value === "object" ? verdictError(el.value) : plainPartError(el.value);
}

/** The elements of one command: at least one, each valid. */
function elementsError(elements: readonly Element[], withValue: boolean): string | undefined {
  if (elements.length === 0) return "an element command needs at least one element";
  for (let i = 0; i < elements.length; i++) {
    const e = elementError(elements[i]!, withValue);
    if (e) return (elements.length === 1 ? "" : `element ${i + 1}: `) + e;
  }
  return undefined;
}

function exprError(expr: Expr): string | undefined {
  if (expr.kind === "concat") {
    if (expr.parts.length < 2) return "a concatenation needs at least two parts";
    for (const p of expr.parts) {
      if (p.kind === "concat" || p.kind === "and") {
        return `${p.kind} cannot be part of a concatenation`;
      }
      if (p.kind === "ct" && p.key === "state") return "ct state cannot be part of a concatenation";
    }
  }
  if (
    expr.kind === "raw" &&
    !(isUint(expr.offset, 0xffff) && isUint(expr.len, 128) && expr.len > 0)
  )
    return `@th,${expr.offset},${expr.len}: offset and length (1 to 128) are bit counts`;
  if (expr.kind === "and") {
    if (!isUint(expr.mask, 0xffffffff)) return `mask ${expr.mask} is not a 32-bit value`;
    if (datatypesOf(expr.expr)[0] !== "mark") return "only meta mark can be masked";
  }
  return undefined;
}

function valueError(left: Expr, value: Value): string | undefined {
  const types = datatypesOf(left);
  const single = types.length === 1 ? types[0] : undefined;
  const isRef = typeof value === "object" && value.kind === "ref";
  if (!single && !isRef) return "a concatenation can only be matched against a named set";
  if (typeof value !== "object" || value.kind === "range") {
    return single && partError(value, single);
  }
  switch (value.kind) {
    case "ref":
      return nameError("set", value.name);
    case "anon":
      if (value.elements.length === 0) return "an anonymous set needs at least one element";
      for (const p of value.elements) {
        const e = single && partError(p, single);
        if (e) return e;
      }
      return undefined;
    case "flags":
      if (single !== "ct_state") return "state flags only match ct state";
      if (value.values.length === 0) return "ct state needs at least one state";
      for (const v of value.values) {
        const e = atomError(v, "ct_state");
        if (e) return e;
      }
      return undefined;
  }
}

function verdictError(v: Verdict): string | undefined {
  return v.kind === "jump" || v.kind === "goto" ? nameError("chain", v.chain) : undefined;
}

function stmtError(stmt: Stmt): string | undefined {
  switch (stmt.kind) {
    case "match":
      return exprError(stmt.left) ?? valueError(stmt.left, stmt.right);
    case "counter":
      return undefined;
    case "log":
      if (stmt.group !== undefined && !isUint(stmt.group, 65535)) {
        return `log group ${stmt.group} is not in 0..65535`;
      }
      return stmt.prefix === undefined ? undefined : prefixError(stmt.prefix);
    case "mark":
      if (!isUint(stmt.value, 0xffffffff) || !isUint(stmt.mask, 0xffffffff)) {
        return "mark value and mask must be 32-bit values";
      }
      return (stmt.value & ~stmt.mask) !== 0 ? "mark value has bits outside its mask" : undefined;
    case "vmap":
    case "markMap":
      return exprError(stmt.key) ?? nameError("map", stmt.map);
    case "reject":
    case "notrack":
      return undefined;
    case "unknown":
      return "an unrecognized statement cannot be written";
    default:
      return verdictError(stmt);
  }
}

export function bodyError(body: Stmt[]): string | undefined {
  if (body.length === 0) return "a rule needs at least one statement";
  for (const [i, stmt] of body.entries()) {
    const e = stmtError(stmt);
    if (e) return e;
    if (terminalKinds.has(stmt.kind) && i !== body.length - 1) {
      return `${stmt.kind} ends the rule; nothing may follow it`;
    }
  }
  return undefined;
}

const typeofable = new Set<DataType>([
  "ipv4_addr",
  "ipv6_addr",
  "inet_service",
  "inet_proto",
  "mark",
  "ifname",
  "ether_addr",
]);

function keyError(type: SetKeyType[] | undefined, tof: Expr[] | undefined): string | undefined {
  if ((type === undefined) === (tof === undefined)) return "give exactly one of type and typeof";
  const n = (type ?? tof ?? []).length;
  if (n === 0) return "a set key needs at least one component";
  for (const e of tof ?? []) {
    const err = exprError(e);
    if (err) return err;
    // Raw header bits are integers, which only a typeof key can name.
    if (e.kind === "raw") continue;
    if (e.kind === "and" || !datatypesOf(e).every((t) => typeofable.has(t))) {
      return `typeof ${e.kind} is not a supported set key`;
    }
  }
  return undefined;
}

function objectError(obj: NftObject): string | undefined {
  switch (obj.kind) {
    case "table":
      return obj.comment === undefined ? undefined : commentError(obj.comment);
    case "chain":
      if (obj.base && !Number.isInteger(obj.base.priority)) return "priority must be an integer";
      return (
        nameError("chain", obj.name) ??
        (obj.comment === undefined ? undefined : commentError(obj.comment))
      );
    case "rule":
      if (obj.handle !== undefined && !isUint(obj.handle, 2 ** 53)) return "bad rule handle";
      return (
        nameError("chain", obj.chain) ??
        bodyError(obj.body) ??
        (obj.comment === undefined ? undefined : commentError(obj.comment))
      );
    case "set":
    case "map":
      return (
        nameError(obj.kind, obj.name) ??
        keyError(obj.type, obj.typeof) ??
        (obj.comment === undefined ? undefined : commentError(obj.comment))
      );
    case "element":
      return nameError("set", obj.set) ?? elementsError(obj.elements, true);
  }
}

function refError(ref: ObjectRef): string | undefined {
  switch (ref.kind) {
    case "table":
      return undefined;
    case "chain":
    case "set":
    case "map":
      return nameError(ref.kind, ref.name);
    case "rule":
      return (
        nameError("chain", ref.chain) ??
        (isUint(ref.handle, 2 ** 53) ? undefined : "bad rule handle")
      );
    case "element":
      return nameError("set", ref.set) ?? elementsError(ref.elements, false);
  }
}

export function commandError(cmd: Command): string | undefined {
  const kind = cmd.object.kind;
  switch (cmd.verb) {
    case "add":
      return objectError(cmd.object);
    case "create":
      return kind === "rule"
        ? "rules cannot be created, only added or inserted"
        : objectError(cmd.object);
    case "insert":
      return kind === "rule"
        ? objectError(cmd.object)
        : `only rules can be inserted, not a ${kind}`;
    case "delete":
      if (cmd.object.kind === "rule" && cmd.object.handle === undefined) {
        return "deleting a rule needs its handle";
      }
      return refError(cmd.object);
    case "flush":
      return ["table", "chain", "set", "map"].includes(kind)
        ? refError(cmd.object)
        : `a ${kind} cannot be flushed`;
    case "rename":
      if (kind !== "chain") return `only chains can be renamed, not a ${kind}`;
      return nameError("chain", cmd.object.name) ?? nameError("chain", cmd.object.to);
  }
}
