// Golden text of what a transaction hands to nft -f, and what validation refuses to write.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  anon,
  concat,
  element,
  eq,
  ip,
  log,
  meta,
  ref,
  type Stmt,
  setMark,
  Transaction,
  th,
  verdict,
} from "../../src/nft/index.ts";
import { fullTransaction } from "./fixtures.ts";

const golden = `add table inet microseg
add chain inet microseg forward { type filter hook forward priority 0; policy accept; }
add chain inet microseg ep-a
add chain inet microseg ep-b { comment "second endpoint"; }
add set inet microseg sel-blue { type ipv4_addr; flags interval; comment "app=blue"; }
add set inet microseg sel-blue6 { type ipv6_addr; }
add set inet microseg svc-ldap { typeof ip saddr . th dport; }
add set inet microseg protos { type inet_proto; }
add set inet microseg self6 { type ipv6_addr . ipv6_addr; }
add map inet microseg ep4 { type ipv4_addr : verdict; }
add element inet microseg sel-blue { 198.18.0.0/16, 198.19.2.1-198.19.2.9, 198.19.3.1/32 }
add element inet microseg sel-blue6 { fd00:0::1 }
add element inet microseg svc-ldap { 198.18.0.1 . 389 }
add element inet microseg protos { 6, 200 }
add element inet microseg self6 { fd00:18::1 . fd00:18::1 }
add element inet microseg ep4 { 198.18.0.1 : jump ep-a, 198.18.0.2 : goto ep-b, 198.18.0.3 : accept }
add rule inet microseg forward ct state established,related accept
add rule inet microseg forward ct state related ip6 saddr . ct original ip6 daddr @self6 accept
add rule inet microseg forward ct state invalid drop
add rule inet microseg forward counter ip daddr vmap @ep4
add rule inet microseg ep-a ip saddr != 198.18.0.0/16 counter drop comment "outside the lab"
add rule inet microseg ep-a meta l4proto { tcp, udp } th dport { 443, 80 } counter accept
add rule inet microseg ep-a meta l4proto sctp th dport 3868-3870 accept
add rule inet microseg ep-a meta l4proto 6 ip saddr . th dport @svc-ldap jump ep-b
add rule inet microseg ep-a meta l4proto icmpv6 accept
add rule inet microseg ep-a meta iifname "veth*" meta oifname != "eth0" continue
add rule inet microseg ep-a meta mark set meta mark | 0x10
add rule inet microseg ep-a meta mark set meta mark & 0xfffffff0 | 0x2
add rule inet microseg ep-a meta mark set meta mark & 0xfffffff0
add rule inet microseg ep-a meta mark & 0x10 == 0x10 return
add rule inet microseg ep-a log prefix "deny ns/pol 'r1'" group 5 counter drop
add rule inet microseg ep-a reject
add rule inet microseg ep-a reject with icmpx admin-prohibited
add rule inet microseg ep-a reject with tcp reset
add rule inet microseg ep-b ip6 saddr @sel-blue6 ip6 daddr != fd00::/8 drop
add rule inet microseg ep-b ip daddr 198.18.0.1/32 th dport { 80 } accept
add rule inet microseg ep-b meta l4proto udp ip saddr @sel-blue th dport 53 accept
add rule inet microseg ep-b meta l4proto udp meta mark 0x10 return
`;

describe("Transaction.toString", () => {
  test("renders every object kind and statement as an nft -f script", () => {
    const tx = fullTransaction();
    assert.equal(tx.error, undefined);
    assert.equal(tx.toString(), golden);
  });

  test("renders delete, flush, create and insert", () => {
    const tx = new Transaction({ family: "inet", table: "microseg" })
      .create({ kind: "set", name: "s", type: ["ipv4_addr", "inet_service"] })
      .insert({ kind: "rule", chain: "c", handle: 7, body: [verdict.drop] })
      .insert({ kind: "rule", chain: "c", body: [verdict.accept] })
      .add({ kind: "rule", chain: "c", handle: 7, body: [verdict.return] })
      .delete({ kind: "rule", chain: "c", handle: 7 })
      .delete({ kind: "element", set: "s", elements: [{ key: ["198.18.0.1", 80] }] })
      .delete({ kind: "map", name: "m" })
      .flush({ kind: "chain", name: "c" })
      .flush({ kind: "set", name: "s" })
      .flush({ kind: "table" })
      .delete({ kind: "table" });
    assert.equal(tx.error, undefined);
    assert.equal(
      tx.toString(),
      [
        "create set inet microseg s { type ipv4_addr . inet_service; }",
        "insert rule inet microseg c handle 7 drop",
        "insert rule inet microseg c accept",
        "add rule inet microseg c handle 7 return",
        "delete rule inet microseg c handle 7",
        "delete element inet microseg s { 198.18.0.1 . 80 }",
        "delete map inet microseg m",
        "flush chain inet microseg c",
        "flush set inet microseg s",
        "flush table inet microseg",
        "delete table inet microseg",
        "",
      ].join("\n"),
    );
  });

  test("element commands in a row on one set become one command; a repeated key does not", () => {
    const tx = new Transaction({ family: "inet", table: "t" })
      .add(element("s", ["198.18.0.1"]))
      .add({
        kind: "element",
        set: "s",
        elements: [{ key: ["198.18.0.2"] }, { key: ["198.18.0.3"] }],
      })
      .add(element("m", ["198.18.0.1"], verdict.jump("c")))
      .add(element("m", ["198.18.0.2"], verdict.accept))
      .delete(element("m", ["198.18.0.1"], verdict.jump("c")))
      .delete(element("m", ["198.18.0.2"]))
      .add(element("m", ["198.18.0.1"], verdict.drop))
      .add(element("s", ["198.18.0.4"]))
      .add({ kind: "chain", name: "c" })
      .add(element("s", ["198.18.0.5"]))
      .add(element("s", ["198.18.0.5"]));
    assert.equal(tx.error, undefined);
    assert.equal(tx.size, 8);
    assert.equal(
      tx.toString(),
      [
        "add element inet t s { 198.18.0.1, 198.18.0.2, 198.18.0.3 }",
        "add element inet t m { 198.18.0.1 : jump c, 198.18.0.2 : accept }",
        "delete element inet t m { 198.18.0.1, 198.18.0.2 }",
        "add element inet t m { 198.18.0.1 : drop }",
        "add element inet t s { 198.18.0.4 }",
        "add chain inet t c",
        "add element inet t s { 198.18.0.5 }",
        "add element inet t s { 198.18.0.5 }",
        "",
      ].join("\n"),
    );
  });

  test("a command naming a key twice is split there, so it means the sequence", () => {
    const tx = new Transaction({ family: "inet", table: "t" }).delete({
      kind: "element",
      set: "s",
      elements: [
        { key: ["198.18.0.1", 80] },
        { key: ["198.18.0.2", 80] },
        { key: ["198.18.0.1", 80] },
      ],
    });
    assert.equal(
      tx.toString(),
      "delete element inet t s { 198.18.0.1 . 80, 198.18.0.2 . 80 }\ndelete element inet t s { 198.18.0.1 . 80 }\n",
    );
  });

  test("the transaction keeps its own copy of the elements it was given", () => {
    const key: [string, { kind: "range"; from: number; to: number }] = [
      "198.18.0.1",
      { kind: "range", from: 80, to: 89 },
    ];
    const tx = new Transaction({ family: "inet", table: "t" }).add(element("s", key));
    key[0] = "198.18.0.2";
    key[1].to = 99;
    assert.equal(tx.toString(), "add element inet t s { 198.18.0.1 . 80-89 }\n");
  });

  test("an empty transaction is an empty script", () => {
    assert.equal(new Transaction({ family: "inet", table: "t" }).toString(), "");
  });
});

describe("validation keeps the first error and ignores later calls", () => {
  const rule = (body: Stmt[]) =>
    new Transaction({ family: "inet", table: "t" }).add({ kind: "rule", chain: "c", body });
  const cases: [string, () => Transaction, RegExp][] = [
    [
      "a comment with a double quote",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({ kind: "table", comment: 'say "hi"' }),
      /double quotes/,
    ],
    [
      "a comment with a newline",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({
          kind: "chain",
          name: "c",
          comment: "a\nadd table ip x",
        }),
      /control characters/,
    ],
    [
      "a comment over 128 bytes",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({
          kind: "chain",
          name: "c",
          comment: "x".repeat(129),
        }),
      /longer than 128/,
    ],
    [
      "a log prefix with $ (nft expands variables)",
      () => rule([log({ prefix: "$x" }), verdict.drop]),
      /"\$"/,
    ],
    [
      "a log prefix over 127 bytes",
      () => rule([log({ prefix: "é".repeat(64) })]),
      /longer than 127/,
    ],
    ["a log group over 65535", () => rule([log({ group: 70000 })]), /log group/],
    ["a chain name that is an nft keyword", () => rule([verdict.jump("fwd")]), /nft keyword/],
    [
      "a chain name with a space",
      () => new Transaction({ family: "inet", table: "t" }).add({ kind: "chain", name: "a b" }),
      /must match/,
    ],
    [
      "a table name that is a keyword",
      () => new Transaction({ family: "inet", table: "counter" }),
      /nft keyword/,
    ],
    [
      "an IPv6 address matched as ip saddr",
      () => rule([eq(ip.saddr, "fd00::1"), verdict.accept]),
      /not a valid ipv4_addr/,
    ],
    [
      "a prefix with host bits",
      () => rule([eq(ip.saddr, "198.18.0.1/16"), verdict.accept]),
      /host bits/,
    ],
    ["a port over 65535", () => rule([eq(th.dport, 70000), verdict.accept]), /inet_service/],
    [
      "an unknown protocol name",
      () => rule([eq(meta.l4proto, "tcpx"), verdict.accept]),
      /inet_proto/,
    ],
    [
      "an empty anonymous set",
      () => rule([eq(th.dport, anon()), verdict.accept]),
      /at least one element/,
    ],
    [
      "a concatenation against a literal",
      () => rule([eq(concat(ip.saddr, th.dport), "198.18.0.1"), verdict.accept]),
      /named set/,
    ],
    [
      "a verdict before the end of the rule",
      () => rule([verdict.accept, eq(th.dport, 80)]),
      /nothing may follow/,
    ],
    ["an empty rule", () => rule([]), /at least one statement/],
    ["mark bits outside the mask", () => rule([setMark(0x11, 0x10)]), /outside its mask/],
    [
      "a set with both type and typeof",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({
          kind: "set",
          name: "s",
          type: ["ipv4_addr"],
          typeof: [ip.saddr],
        }),
      /exactly one of type and typeof/,
    ],
    [
      "an element with a quote",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({
          kind: "element",
          set: "s",
          elements: [{ key: ['1"'] }],
        }),
      /element part/,
    ],
    [
      "an element command with no element",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({
          kind: "element",
          set: "s",
          elements: [],
        }),
      /at least one element/,
    ],
    [
      "an element command whose second element is invalid, naming it",
      () =>
        new Transaction({ family: "inet", table: "t" }).add({
          kind: "element",
          set: "s",
          elements: [{ key: ["198.18.0.1"] }, { key: ["198.18.0.2", 'x"'] }],
        }),
      /element 2: element part "x\\""/,
    ],
    [
      "a set name in a reference that is a keyword",
      () => rule([eq(ip.saddr, ref("set")), verdict.accept]),
      /nft keyword/,
    ],
    [
      "inserting a chain",
      () =>
        new Transaction({ family: "inet", table: "t" }).insert({
          kind: "chain",
          name: "c",
        } as never),
      /only rules can be inserted/,
    ],
    [
      "flushing an element",
      () =>
        new Transaction({ family: "inet", table: "t" }).flush({
          kind: "element",
          set: "s",
          key: [1],
        } as never),
      /cannot be flushed/,
    ],
  ];
  for (const [name, build, message] of cases) {
    test(`refuses ${name}`, () => {
      const tx = build().add({ kind: "table" });
      assert.ok(tx.error, "expected a validation error");
      assert.equal(tx.error.code, "invalid");
      assert.match(tx.error.message, message);
      assert.equal(tx.size, 0, "nothing after the error is buffered");
    });
  }

  test("the error names the command that caused it", () => {
    const tx = new Transaction({ family: "inet", table: "t" })
      .add({ kind: "table" })
      .add({ kind: "chain", name: "c" })
      .add({ kind: "rule", chain: "c", body: [eq(th.dport, -1), verdict.accept] });
    assert.match(tx.error?.message ?? "", /^command 3 \(add rule\)/);
    assert.equal(tx.size, 2);
  });

  test("quotes, backslashes and braces are fine inside quoted strings", () => {
    const tx = rule([log({ prefix: "a 'b' \\ {c}; #d" }), verdict.drop]);
    assert.equal(tx.error, undefined);
    assert.equal(tx.toString(), "add rule inet t c log prefix \"a 'b' \\ {c}; #d\" drop\n");
  });
});
