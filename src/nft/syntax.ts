// AST -> nft syntax. Pure and total over validated input: validation (validate.ts) decides
// what may be written, this module only decides how.

import type {
  Atom,
  Command,
  DataType,
  Element,
  Expr,
  Family,
  MapObject,
  NftObject,
  ObjectRef,
  Part,
  SetObject,
  Stmt,
  Value,
  Verdict,
} from "./ast.ts";

export function datatypesOf(expr: Expr): DataType[] {
  switch (expr.kind) {
    case "payload":
      if (expr.protocol === "ip") return ["ipv4_addr"];
      if (expr.protocol === "ip6" && expr.field === "nexthdr") return ["inet_proto"];
      if (expr.protocol === "ip6" && (expr.field === "length" || expr.field === "hoplimit"))
        return ["integer"];
      if (expr.protocol === "ip6") return ["ipv6_addr"];
      if (expr.protocol === "ether") return ["ether_addr"];
      if (expr.protocol === "arp") return [expr.field === "saddr ip" ? "ipv4_addr" : "ether_addr"];
      if (expr.protocol === "icmp" || expr.protocol === "icmpv6")
        return [`${expr.protocol}_${expr.field as "type" | "code"}`];
      return ["inet_service"];
    case "meta":
      if (expr.key === "l4proto") return ["inet_proto"];
      if (expr.key === "mark") return ["mark"];
      if (expr.key === "nfproto") return ["nf_proto"];
      return ["ifname"];
    case "ct":
      if (expr.key === "state") return ["ct_state"];
      return [expr.protocol === "ip" ? "ipv4_addr" : "ipv6_addr"];
    case "concat":
      return expr.parts.flatMap(datatypesOf);
    case "and":
      return datatypesOf(expr.expr);
    case "numgen":
    case "raw":
      return ["integer"];
  }
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

export function renderExpr(expr: Expr): string {
  switch (expr.kind) {
    case "payload":
      return `${expr.protocol} ${expr.field}`;
    case "meta":
      return `meta ${expr.key}`;
    case "ct":
      return expr.key === "state" ? "ct state" : `ct ${expr.dir} ${expr.protocol} ${expr.key}`;
    case "concat":
      return expr.parts.map(renderExpr).join(" . ");
    case "and":
      return `${renderExpr(expr.expr)} & ${hex(expr.mask)}`;
    case "numgen":
      return `numgen ${expr.mode} mod ${expr.mod}`;
    case "raw":
      return `@${expr.base},${expr.offset},${expr.len}`;
  }
}

/** Writes one atom; `type` is known for matches, unknown for set elements (written plainly). */
export function renderAtom(atom: Atom, type?: DataType): string {
  if (type === "ifname") return `"${atom}"`;
  if (type === "mark" && typeof atom === "number") return hex(atom);
  return String(atom);
}

export function renderPart(part: Part, type?: DataType): string {
  if (typeof part === "object")
    return `${renderAtom(part.from, type)}-${renderAtom(part.to, type)}`;
  return renderAtom(part, type);
}

export function renderValue(value: Value, type?: DataType): string {
  if (typeof value !== "object") return renderAtom(value, type);
  switch (value.kind) {
    case "range":
      return renderPart(value, type);
    case "ref":
      return `@${value.name}`;
    case "anon":
      return `{ ${value.elements.map((p) => renderPart(p, type)).join(", ")} }`;
    case "flags":
      return value.values.join(",");
  }
}

export function renderVerdict(v: Verdict): string {
  return v.kind === "jump" || v.kind === "goto" ? `${v.kind} ${v.chain}` : v.kind;
}

export interface RenderOptions {
  /** Writes counter values where a statement carries them (live rules). */
  counters?: boolean;
}

export function renderStmt(stmt: Stmt, opts: RenderOptions = {}): string {
  switch (stmt.kind) {
    case "match": {
      const types = datatypesOf(stmt.left);
      const type = types.length === 1 ? types[0] : undefined;
      // After a mask an implicit == would read as a second operand: `meta mark & 0x10 0x10`.
      const op = stmt.op === "!=" ? "!= " : stmt.left.kind === "and" ? "== " : "";
      return `${renderExpr(stmt.left)} ${op}${renderValue(stmt.right, type)}`;
    }
    case "counter":
      return opts.counters && stmt.packets !== undefined
        ? `counter packets ${stmt.packets} bytes ${stmt.bytes ?? 0}`
        : "counter";
    case "log": {
      const prefix = stmt.prefix === undefined ? "" : ` prefix "${stmt.prefix}"`;
      const group = stmt.group === undefined ? "" : ` group ${stmt.group}`;
      return `log${prefix}${group}`;
    }
    case "mark":
      if (stmt.mask === 0xffffffff) return `meta mark set ${hex(stmt.value)}`;
      if (stmt.mask === stmt.value) return `meta mark set meta mark | ${hex(stmt.value)}`;
      if (stmt.value === 0) return `meta mark set meta mark & ${hex(~stmt.mask >>> 0)}`;
      return `meta mark set meta mark & ${hex(~stmt.mask >>> 0)} | ${hex(stmt.value)}`;
    case "vmap":
      return `${renderExpr(stmt.key)} vmap @${stmt.map}`;
    case "markMap":
      return `meta mark set ${renderExpr(stmt.key)} map @${stmt.map}`;
    case "notrack":
      return "notrack";
    case "reject":
      if (!stmt.with) return "reject";
      return stmt.with.type === "tcp reset"
        ? "reject with tcp reset"
        : `reject with icmpx ${stmt.with.code}`;
    case "unknown":
      return `# unrecognized: ${JSON.stringify(stmt.json)}`;
    default:
      return renderVerdict(stmt);
  }
}

export function renderBody(body: Stmt[], opts?: RenderOptions): string {
  return body.map((s) => renderStmt(s, opts)).join(" ");
}

function renderSetSpec(obj: SetObject | MapObject): string {
  const key = obj.type
    ? `type ${obj.type.join(" . ")}`
    : `typeof ${(obj.typeof ?? []).map(renderExpr).join(" . ")}`;
  const value = obj.kind === "map" ? ` : ${obj.value}` : "";
  const flags = obj.flags?.length ? ` flags ${obj.flags.join(",")};` : "";
  const comment = obj.comment === undefined ? "" : ` comment "${obj.comment}";`;
  return `{ ${key}${value};${flags}${comment} }`;
}

/** ` comment "TEXT"` after a rule's body or an element's key; nothing without a comment. */
export const commentSuffix = (comment: string | undefined): string =>
  comment === undefined ? "" : ` comment "${comment}"`;

function renderElement(el: Element): string {
  const k = el.key.map((p) => renderPart(p)).join(" . ") + commentSuffix(el.comment);
  const { value } = el;
  if (value === undefined) return k;
  return `${k} : ${typeof value === "object" ? renderVerdict(value) : renderAtom(value)}`;
}

/** `{ a, b : jump c }`: the elements of one command. */
const renderElements = (elements: readonly Element[]): string =>
  `{ ${elements.map(renderElement).join(", ")} }`;

/** The text after `<verb> <kind> <family> <table>` for an object being created. */
function renderObject(obj: NftObject): string {
  switch (obj.kind) {
    case "table":
      return obj.comment === undefined ? "" : ` { comment "${obj.comment}"; }`;
    case "chain": {
      const parts: string[] = [];
      if (obj.base) {
        const b = obj.base;
        parts.push(`type ${b.type} hook ${b.hook} priority ${b.priority};`);
        if (b.policy) parts.push(`policy ${b.policy};`);
      }
      if (obj.comment !== undefined) parts.push(`comment "${obj.comment}";`);
      return parts.length ? ` ${obj.name} { ${parts.join(" ")} }` : ` ${obj.name}`;
    }
    case "rule": {
      const handle = obj.handle === undefined ? "" : ` handle ${obj.handle}`;
      return ` ${obj.chain}${handle} ${renderBody(obj.body)}${commentSuffix(obj.comment)}`;
    }
    case "set":
    case "map":
      return ` ${obj.name} ${renderSetSpec(obj)}`;
    case "element":
      return ` ${obj.set} ${renderElements(obj.elements)}`;
  }
}

function renderRef(ref: ObjectRef): string {
  switch (ref.kind) {
    case "table":
      return "";
    case "chain":
    case "set":
    case "map":
      return ` ${ref.name}`;
    case "rule":
      return ` ${ref.chain} handle ${ref.handle}`;
    case "element":
      return ` ${ref.set} ${renderElements(ref.elements)}`;
  }
}

export function renderCommand(cmd: Command, family: Family, table: string): string {
  const head = `${cmd.verb} ${cmd.object.kind} ${family} ${table}`;
  if (cmd.verb === "rename") return `${head} ${cmd.object.name} ${cmd.object.to}`;
  const tail =
    cmd.verb === "delete" || cmd.verb === "flush"
      ? renderRef(cmd.object)
      : renderObject(cmd.object);
  return `${head}${tail}`;
}
