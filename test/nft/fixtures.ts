// A transaction that uses every kind of object and statement the renderer knows, shared by the
// golden, fake and kernel tests.

import {
  and,
  anon,
  concat,
  counter,
  ct,
  eq,
  ip,
  ip6,
  log,
  meta,
  ne,
  range,
  ref,
  reject,
  setMark,
  states,
  Transaction,
  th,
  verdict,
  vmap,
} from "../../src/nft/index.ts";

export function fullTransaction(table = "microseg"): Transaction {
  const tx = new Transaction({ family: "inet", table });
  const forward = { type: "filter", hook: "forward", priority: 0, policy: "accept" } as const;
  return tx
    .add({ kind: "table" })
    .add({ kind: "chain", name: "forward", base: forward })
    .add({ kind: "chain", name: "ep-a" })
    .add({ kind: "chain", name: "ep-b", comment: "second endpoint" })
    .add({
      kind: "set",
      name: "sel-blue",
      type: ["ipv4_addr"],
      flags: ["interval"],
      comment: "app=blue",
    })
    .add({ kind: "set", name: "sel-blue6", type: ["ipv6_addr"] })
    .add({ kind: "set", name: "svc-ldap", typeof: [ip.saddr, th.dport] })
    .add({ kind: "set", name: "protos", type: ["inet_proto"] })
    .add({ kind: "set", name: "self6", type: ["ipv6_addr", "ipv6_addr"] })
    .add({ kind: "map", name: "ep4", type: ["ipv4_addr"], value: "verdict" })
    .add({ kind: "element", set: "sel-blue", elements: [{ key: ["198.18.0.0/16"] }] })
    .add({
      kind: "element",
      set: "sel-blue",
      elements: [{ key: [range("198.19.2.1", "198.19.2.9")] }],
    })
    .add({ kind: "element", set: "sel-blue", elements: [{ key: ["198.19.3.1/32"] }] })
    .add({ kind: "element", set: "sel-blue6", elements: [{ key: ["fd00:0::1"] }] })
    .add({ kind: "element", set: "svc-ldap", elements: [{ key: ["198.18.0.1", 389] }] })
    .add({ kind: "element", set: "protos", elements: [{ key: [6] }] })
    .add({ kind: "element", set: "protos", elements: [{ key: [200] }] })
    .add({ kind: "element", set: "self6", elements: [{ key: ["fd00:18::1", "fd00:18::1"] }] })
    .add({
      kind: "element",
      set: "ep4",
      elements: [{ key: ["198.18.0.1"], value: verdict.jump("ep-a") }],
    })
    .add({
      kind: "element",
      set: "ep4",
      elements: [{ key: ["198.18.0.2"], value: verdict.goto("ep-b") }],
    })
    .add({
      kind: "element",
      set: "ep4",
      elements: [{ key: ["198.18.0.3"], value: verdict.accept }],
    })
    .add({
      kind: "rule",
      chain: "forward",
      body: [eq(ct.state, states("established", "related")), verdict.accept],
    })
    .add({
      kind: "rule",
      chain: "forward",
      body: [
        eq(ct.state, states("related")),
        eq(concat(ip6.saddr, ct.original.ip6.daddr), ref("self6")),
        verdict.accept,
      ],
    })
    .add({ kind: "rule", chain: "forward", body: [eq(ct.state, states("invalid")), verdict.drop] })
    .add({ kind: "rule", chain: "forward", body: [counter(), vmap(ip.daddr, "ep4")] })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [ne(ip.saddr, "198.18.0.0/16"), counter(), verdict.drop],
      comment: "outside the lab",
    })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [
        eq(meta.l4proto, anon("tcp", "udp")),
        eq(th.dport, anon(443, 80)),
        counter(),
        verdict.accept,
      ],
    })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [eq(meta.l4proto, "sctp"), eq(th.dport, range(3868, 3870)), verdict.accept],
    })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [
        eq(meta.l4proto, 6),
        eq(concat(ip.saddr, th.dport), ref("svc-ldap")),
        verdict.jump("ep-b"),
      ],
    })
    .add({ kind: "rule", chain: "ep-a", body: [eq(meta.l4proto, "icmpv6"), verdict.accept] })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [eq(meta.iifname, "veth*"), ne(meta.oifname, "eth0"), verdict.continue],
    })
    .add({ kind: "rule", chain: "ep-a", body: [setMark(0x10, 0x10)] })
    .add({ kind: "rule", chain: "ep-a", body: [setMark(0x2, 0xf)] })
    .add({ kind: "rule", chain: "ep-a", body: [setMark(0, 0xf)] })
    .add({ kind: "rule", chain: "ep-a", body: [eq(and(meta.mark, 0x10), 0x10), verdict.return] })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [log({ group: 5, prefix: "deny ns/pol 'r1'" }), counter(), verdict.drop],
    })
    .add({ kind: "rule", chain: "ep-a", body: [reject()] })
    .add({
      kind: "rule",
      chain: "ep-a",
      body: [reject({ type: "icmpx", code: "admin-prohibited" })],
    })
    .add({ kind: "rule", chain: "ep-a", body: [reject({ type: "tcp reset" })] })
    .add({
      kind: "rule",
      chain: "ep-b",
      body: [eq(ip6.saddr, ref("sel-blue6")), ne(ip6.daddr, "fd00::/8"), verdict.drop],
    })
    .add({
      kind: "rule",
      chain: "ep-b",
      body: [eq(ip.daddr, "198.18.0.1/32"), eq(th.dport, anon(80)), verdict.accept],
    })
    .add({
      kind: "rule",
      chain: "ep-b",
      body: [
        eq(meta.l4proto, "udp"),
        eq(ip.saddr, ref("sel-blue")),
        eq(th.dport, 53),
        verdict.accept,
      ],
    })
    .add({
      kind: "rule",
      chain: "ep-b",
      body: [eq(meta.l4proto, "udp"), eq(meta.mark, 0x10), verdict.return],
    });
}

/** What fullTransaction leaves in the table, as dumpSorted writes it. */
export const fullDump = `add table inet microseg
add chain inet microseg ep-a
add chain inet microseg ep-b
add chain inet microseg forward { type filter hook forward priority 0; policy accept; }
add map inet microseg ep4 { type ipv4_addr : verdict; }
add set inet microseg protos { type inet_proto; }
add set inet microseg sel-blue { type ipv4_addr; flags interval; comment "app=blue"; }
add set inet microseg sel-blue6 { type ipv6_addr; }
add set inet microseg self6 { type ipv6_addr . ipv6_addr; }
add set inet microseg svc-ldap { type ipv4_addr . inet_service; }
add element inet microseg ep4 { 198.18.0.1 : jump ep-a }
add element inet microseg ep4 { 198.18.0.2 : goto ep-b }
add element inet microseg ep4 { 198.18.0.3 : accept }
add element inet microseg protos { 200 }
add element inet microseg protos { tcp }
add element inet microseg sel-blue { 198.18.0.0/16 }
add element inet microseg sel-blue { 198.19.2.1-198.19.2.9 }
add element inet microseg sel-blue { 198.19.3.1 }
add element inet microseg sel-blue6 { fd00::1 }
add element inet microseg self6 { fd00:18::1 . fd00:18::1 }
add element inet microseg svc-ldap { 198.18.0.1 . 389 }
add rule inet microseg ep-a ip saddr != 198.18.0.0/16 counter drop comment "outside the lab"
add rule inet microseg ep-a meta l4proto { tcp, udp } th dport { 80, 443 } counter accept
add rule inet microseg ep-a sctp dport 3868-3870 accept
add rule inet microseg ep-a ip saddr . tcp dport @svc-ldap jump ep-b
add rule inet microseg ep-a meta l4proto icmpv6 accept
add rule inet microseg ep-a meta iifname "veth*" meta oifname != "eth0" continue
add rule inet microseg ep-a meta mark set meta mark | 0x10
add rule inet microseg ep-a meta mark set meta mark & 0xfffffff0 | 0x2
add rule inet microseg ep-a meta mark set meta mark & 0xfffffff0
add rule inet microseg ep-a meta mark & 0x10 == 0x10 return
add rule inet microseg ep-a log prefix "deny ns/pol 'r1'" group 5 counter drop
add rule inet microseg ep-a reject
add rule inet microseg ep-a reject with icmpx admin-prohibited
add rule inet microseg ep-a meta l4proto tcp reject with tcp reset
add rule inet microseg ep-b ip6 saddr @sel-blue6 ip6 daddr != fd00::/8 drop
add rule inet microseg ep-b ip daddr 198.18.0.1 th dport 80 accept
add rule inet microseg ep-b ip saddr @sel-blue udp dport 53 accept
add rule inet microseg ep-b meta l4proto udp meta mark 0x10 return
add rule inet microseg forward ct state established,related accept
add rule inet microseg forward ct state related ip6 saddr . ct original ip6 daddr @self6 accept
add rule inet microseg forward ct state invalid drop
add rule inet microseg forward counter ip daddr vmap @ep4
`;
