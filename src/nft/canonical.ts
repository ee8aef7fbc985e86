// One spelling per meaning. nft rewrites what it is given (drops `/32`, prints `tcp dport` for
// `meta l4proto tcp th dport`, names protocols, folds `{ 80 }` to `80`); desired and live rules
// are both brought to that form before they are compared.

import { firstOf, parseExactCidr, rangeAsCidr, shortText } from "../net/cidr.ts";
import type { Atom, CtState, DataType, Expr, Part, SetKeyType, Stmt, Value } from "./ast.ts";
import { icmpNumber, isIcmpType } from "./icmp.ts";
import { canonicalProtocol } from "./protocols.ts";
import { datatypesOf, renderPart } from "./syntax.ts";

const stateOrder: CtState[] = ["invalid", "established", "related", "new", "untracked"];

/** Integers one way: numbers up to 2^53 (as nft's JSON prints them), `0x` hex above. */
function canonicalInteger(atom: Atom): Atom {
  if (typeof atom === "string" && !/^0x[0-9a-f]+$/i.test(atom)) return atom;
  const n = BigInt(atom);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : `0x${n.toString(16)}`;
}

function canonicalAtom(atom: Atom, type: DataType | undefined): Atom {
  if (type === "integer") return canonicalInteger(atom);
  if (typeof atom !== "string") return type === "inet_proto" ? canonicalProtocol(atom) : atom;
  if (type === "inet_proto") return canonicalProtocol(atom);
  if (isIcmpType(type)) return icmpNumber(type, atom) ?? atom;
  const cidr = parseExactCidr(atom);
  return cidr ? shortText(cidr) : atom;
}

export function canonicalPart(part: Part, type: DataType | undefined): Part {
  if (typeof part !== "object") return canonicalAtom(part, type);
  const from = canonicalAtom(part.from, type);
  const to = canonicalAtom(part.to, type);
  if (from === to) return from;
  const a = typeof from === "string" ? parseExactCidr(from) : undefined;
  const b = typeof to === "string" ? parseExactCidr(to) : undefined;
  if (a && b && a.family === b.family) {
    const block = rangeAsCidr(a.family, firstOf(a), firstOf(b));
    if (block) return shortText(block);
  }
  return { kind: "range", from, to };
}

const partOrder = (type: DataType | undefined) => (x: Part, y: Part) => {
  const key = (p: Part) =>
    typeof p === "number" ? p : typeof p === "object" && typeof p.from === "number" ? p.from : NaN;
  const [kx, ky] = [key(x), key(y)];
  if (!Number.isNaN(kx) && !Number.isNaN(ky) && kx !== ky) return kx - ky;
  const [sx, sy] = [renderPart(x, type), renderPart(y, type)];
  return sx < sy ? -1 : sx > sy ? 1 : 0;
};

function canonicalValue(value: Value, type: DataType | undefined): Value {
  if (type === "ct_state") {
    const names =
      typeof value === "string"
        ? [value]
        : typeof value === "object" && value.kind === "flags"
          ? value.values
          : typeof value === "object" && value.kind === "anon"
            ? value.elements.map(String)
            : undefined;
    if (names) {
      const sorted = stateOrder.filter((s) => names.includes(s));
      return { kind: "flags", values: sorted };
    }
  }
  if (typeof value !== "object" || value.kind === "range") return canonicalPart(value, type);
  if (value.kind !== "anon") return value;
  const elements = value.elements.map((p) => canonicalPart(p, type)).sort(partOrder(type));
  const unique = elements.filter((p, i) => i === 0 || partOrder(type)(elements[i - 1]!, p) !== 0);
  return unique.length === 1 ? unique[0]! : { kind: "anon", elements: unique };
}

type PortL4 = "tcp" | "udp" | "sctp" | "udplite" | "dccp";
type Dependency = PortL4 | "icmp" | "icmpv6";

const foldable = new Set<string>(["tcp", "udp", "sctp", "udplite", "dccp", "icmp", "icmpv6"]);

function l4Dependency(stmt: Stmt): Dependency | undefined {
  if (stmt.kind !== "match" || stmt.op !== "==") return undefined;
  if (stmt.left.kind !== "meta" || stmt.left.key !== "l4proto") return undefined;
  const p = stmt.right;
  return typeof p === "string" && foldable.has(p) ? (p as Dependency) : undefined;
}

/** Whether the expression reads a header the protocol match is a dependency of. */
function usesHeaderOf(expr: Expr, proto: Dependency): boolean {
  if (expr.kind === "concat") return expr.parts.some((p) => usesHeaderOf(p, proto));
  if (expr.kind !== "payload") return false;
  if (proto === "icmp" || proto === "icmpv6") return expr.protocol === proto;
  return expr.protocol === "th" || expr.protocol === proto;
}

function resolvePorts(expr: Expr, proto: Dependency): Expr {
  if (proto === "icmp" || proto === "icmpv6") return expr;
  if (expr.kind === "concat")
    return { ...expr, parts: expr.parts.map((p) => resolvePorts(p, proto)) };
  if (expr.kind === "payload" && expr.protocol === "th") return { ...expr, protocol: proto };
  return expr;
}

/**
 * nft prints `meta l4proto tcp th dport 80` as `tcp dport 80`, and `meta l4proto icmp icmp type
 * 8` as `icmp type 8`: the protocol match is implied by the header that is read.
 */
function foldL4Dependencies(body: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  let context: Dependency | undefined;
  for (const [i, stmt] of body.entries()) {
    const dep = l4Dependency(stmt);
    if (dep) {
      context = dep;
      const rest = body.slice(i + 1);
      const implied = rest.some(
        (s) =>
          (s.kind === "match" && usesHeaderOf(s.left, dep)) ||
          ((s.kind === "vmap" || s.kind === "markMap") && usesHeaderOf(s.key, dep)),
      );
      if (!implied) out.push(stmt);
      continue;
    }
    if (context && stmt.kind === "match")
      out.push({ ...stmt, left: resolvePorts(stmt.left, context) });
    else if (context && (stmt.kind === "vmap" || stmt.kind === "markMap"))
      out.push({ ...stmt, key: resolvePorts(stmt.key, context) });
    else out.push(stmt);
  }
  return out;
}

/** `reject with tcp reset` only applies to TCP, so nft adds the protocol match it implies. */
function addTcpResetDependency(body: Stmt[]): Stmt[] {
  const at = body.findIndex((s) => s.kind === "reject" && s.with?.type === "tcp reset");
  if (at < 0) return body;
  const before = body.slice(0, at);
  const hasTcp = before.some(
    (s) =>
      s.kind === "match" &&
      (l4Dependency(s) === "tcp" || (s.left.kind === "payload" && s.left.protocol === "tcp")),
  );
  if (hasTcp) return body;
  const dep: Stmt = {
    kind: "match",
    left: { kind: "meta", key: "l4proto" },
    op: "==",
    right: "tcp",
  };
  return [...before, dep, ...body.slice(at)];
}

function canonicalStmt(stmt: Stmt): Stmt {
  if (stmt.kind === "match") {
    const types = datatypesOf(stmt.left);
    const type = types.length === 1 ? types[0] : undefined;
    return { ...stmt, right: canonicalValue(stmt.right, type) };
  }
  if (
    stmt.kind === "reject" &&
    stmt.with?.type === "icmpx" &&
    stmt.with.code === "port-unreachable"
  ) {
    return { kind: "reject" };
  }
  return stmt;
}

export function canonicalBody(body: Stmt[]): Stmt[] {
  return foldL4Dependencies(addTcpResetDependency(body.map(canonicalStmt)));
}

export function canonicalKey(key: Part[], types: SetKeyType[]): Part[] {
  return key.map((p, i) => canonicalPart(p, types[i]));
}

/** The data types of a set declared with `typeof`, as nft lists it. */
export function keyTypes(type: SetKeyType[] | undefined, tof: Expr[] | undefined): SetKeyType[] {
  return type ?? (tof ?? []).flatMap((e) => datatypesOf(e) as SetKeyType[]);
}
