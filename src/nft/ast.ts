// The typed AST of rule bodies and of table objects. Everything the renderer writes and the
// reader reads back is one of these shapes, so desired and live state compare as data.

/** `bridge`: frames crossing a Linux bridge, where `iifname` is the port (src/dataplane bridge table). */
export type Family = "inet" | "ip" | "ip6" | "bridge";

/** Data types a set key, a map value or a matched expression can have. */
export type DataType =
  | "ipv4_addr"
  | "ipv6_addr"
  | "inet_service"
  | "inet_proto"
  | "mark"
  | "ifname"
  | "ether_addr"
  | "ct_state"
  /** `meta nfproto`: ipv4 or ipv6, for rules that match no address. */
  | "nf_proto"
  | "icmp_type"
  | "icmp_code"
  | "icmpv6_type"
  | "icmpv6_code"
  /** `numgen`: a plain number. */
  | "integer";

/** Key types allowed in named sets and maps. */
export type SetKeyType =
  | "ipv4_addr"
  | "ipv6_addr"
  | "inet_service"
  | "inet_proto"
  | "mark"
  | "ifname"
  | "ether_addr";

export type PortProtocol = "th" | "tcp" | "udp" | "sctp" | "udplite" | "dccp";

export type IcmpProtocol = "icmp" | "icmpv6";

export type CtDirection = "original" | "reply";

export type Expr =
  | { kind: "payload"; protocol: "ip" | "ip6"; field: "saddr" | "daddr" }
  /** IPv6 header fields the bridge table's neighbour discovery checks read. */
  | { kind: "payload"; protocol: "ip6"; field: "length" | "nexthdr" | "hoplimit" }
  | { kind: "payload"; protocol: PortProtocol; field: "sport" | "dport" }
  | { kind: "payload"; protocol: IcmpProtocol; field: "type" | "code" }
  /** Bridge family: a frame's source MAC, and the sender fields of an ARP packet. */
  | { kind: "payload"; protocol: "ether"; field: "saddr" }
  | { kind: "payload"; protocol: "arp"; field: "saddr ip" | "saddr ether" }
  | { kind: "meta"; key: "l4proto" | "mark" | "iifname" | "oifname" | "nfproto" }
  | { kind: "ct"; key: "state" }
  /** `ct original ip saddr`: an address of the connection's tuple in one direction. */
  | { kind: "ct"; dir: CtDirection; protocol: "ip" | "ip6"; key: "saddr" | "daddr" }
  | { kind: "concat"; parts: Expr[] }
  /** `numgen random mod N`: a random number below N, drawn per packet (sampling). */
  | { kind: "numgen"; mode: "random"; mod: number }
  /** Bitwise and, as in `meta mark & 0x10`. */
  | { kind: "and"; expr: Expr; mask: number }
  /**
   * `@th,OFFSET,LEN`: LEN bits at bit OFFSET of the transport header, an integer (fields nft
   * 1.0.6 has no name for: a neighbour advertisement's target, its link-layer option). Matched
   * against numbers, or `0x` hex strings above 2^53; in a set only through `typeof`.
   */
  | { kind: "raw"; base: "th"; offset: number; len: number };

/** An address, prefix (`198.18.0.0/16`), port, protocol name or number, mark, or interface name. */
export type Atom = string | number;

export interface Range {
  kind: "range";
  from: Atom;
  to: Atom;
}

/** One component of a set element key or of an inline set. */
export type Part = Atom | Range;

export type CtState = "invalid" | "established" | "related" | "new" | "untracked";

export type Value =
  | Atom
  | Range
  /** `@name`: a named set. */
  | { kind: "ref"; name: string }
  /** `{ a, b }`: an anonymous set. */
  | { kind: "anon"; elements: Part[] }
  /** `established,related`: any of these conntrack states. */
  | { kind: "flags"; values: CtState[] };

export type Verdict =
  | { kind: "accept" }
  | { kind: "drop" }
  | { kind: "continue" }
  | { kind: "return" }
  | { kind: "jump"; chain: string }
  | { kind: "goto"; chain: string };

export type RejectWith =
  | {
      type: "icmpx";
      code: "port-unreachable" | "admin-prohibited" | "no-route" | "host-unreachable";
    }
  | { type: "tcp reset" };

export type Stmt =
  | { kind: "match"; left: Expr; op: "==" | "!="; right: Value }
  /** Counts packets and bytes; the numbers are only present on rules read from the kernel. */
  | { kind: "counter"; packets?: number; bytes?: number }
  /** NFLOG when `group` is set, the kernel log otherwise. */
  | { kind: "log"; prefix?: string; group?: number }
  /** `meta mark set`: the bits under `mask` become `value`, the others are kept. */
  | { kind: "mark"; value: number; mask: number }
  | { kind: "vmap"; key: Expr; map: string }
  /**
   * `meta mark set KEY map @MAP`: the whole mark becomes the data map's value for the key; no
   * element ends the rule there, the mark unchanged.
   */
  | { kind: "markMap"; key: Expr; map: string }
  | { kind: "reject"; with?: RejectWith }
  /** Exempts the packet from connection tracking (raw priority, before conntrack, only). */
  | { kind: "notrack" }
  | Verdict
  /** A statement the reader could not map to this AST, kept as nft's JSON. */
  | { kind: "unknown"; json: unknown };

export interface BaseChain {
  type: "filter" | "route" | "nat";
  hook: "prerouting" | "input" | "forward" | "output" | "postrouting";
  priority: number;
  policy?: "accept" | "drop";
}

export type SetFlag = "interval" | "constant" | "timeout";

export interface TableObject {
  kind: "table";
  comment?: string;
}

export interface ChainObject {
  kind: "chain";
  name: string;
  /** Present for base chains: where the chain hooks into the stack. */
  base?: BaseChain;
  comment?: string;
}

export interface RuleObject {
  kind: "rule";
  chain: string;
  body: Stmt[];
  comment?: string;
  /** For add: place after this rule; for insert: before it. */
  handle?: number;
}

export interface SetObject {
  kind: "set";
  name: string;
  /** One entry per component of a concatenated key; exactly one of type and typeof. */
  type?: SetKeyType[];
  typeof?: Expr[];
  flags?: SetFlag[];
  comment?: string;
}

export interface MapObject {
  kind: "map";
  name: string;
  type?: SetKeyType[];
  typeof?: Expr[];
  value: "verdict" | SetKeyType;
  flags?: SetFlag[];
  comment?: string;
}

/** What names one element of a set or map: one part per component of the set's key. */
export interface ElementKey {
  key: Part[];
}

export interface Element extends ElementKey {
  /** Maps only. */
  value?: Verdict | Atom;
  /** At most 128 bytes, no double quote (nft keeps it with the element). */
  comment?: string;
}

/**
 * Elements of one set or map, written as one command (`add element t s { a, b, c }`). nft
 * parses, evaluates and commits the elements of one command together, and commands one by one:
 * 528k one-element commands took libnftables about 68 s, so a set's elements travel together.
 * The command means what the same elements one per command, in order, would.
 */
export interface ElementObject {
  kind: "element";
  /** The set or map the elements belong to. */
  set: string;
  /** At least one. */
  elements: Element[];
}

export type NftObject =
  | TableObject
  | ChainObject
  | RuleObject
  | SetObject
  | MapObject
  | ElementObject;

/** What names an existing object, for delete and flush. */
export type ObjectRef =
  | { kind: "table" }
  | { kind: "chain"; name: string }
  | { kind: "rule"; chain: string; handle: number }
  | { kind: "set"; name: string }
  | { kind: "map"; name: string }
  | { kind: "element"; set: string; elements: ElementKey[] };

export type FlushRef = Extract<ObjectRef, { kind: "table" | "chain" | "set" | "map" }>;

/** A regular chain's new name: what led to it (jumps, verdict elements) leads to it still. */
export interface ChainRename {
  kind: "chain";
  name: string;
  to: string;
}

export type Verb = "add" | "create" | "insert" | "delete" | "flush" | "rename";

export type Command =
  | { verb: "add"; object: NftObject }
  | { verb: "create"; object: Exclude<NftObject, RuleObject> }
  | { verb: "insert"; object: RuleObject }
  | { verb: "delete"; object: ObjectRef }
  | { verb: "flush"; object: FlushRef }
  | { verb: "rename"; object: ChainRename };

export const terminalKinds: ReadonlySet<Stmt["kind"]> = new Set([
  "accept",
  "drop",
  "continue",
  "return",
  "jump",
  "goto",
  "reject",
  "vmap",
]);
