// Transactions the kernel refuses, each after a common starting ruleset. The fake must refuse
// them with the same code, and both must keep the starting ruleset whole.

import type { NftErrorCode } from "../../src/nft/index.ts";
import { eq, ip, ip6, range, ref, Transaction, verdict, vmap } from "../../src/nft/index.ts";

export function startingRuleset(table: string): Transaction {
  return new Transaction({ family: "inet", table })
    .add({ kind: "table" })
    .add({
      kind: "chain",
      name: "forward",
      base: { type: "filter", hook: "forward", priority: 0, policy: "accept" },
    })
    .add({ kind: "chain", name: "ep-a" })
    .add({ kind: "chain", name: "ep-b" })
    .add({ kind: "chain", name: "unused" })
    .add({ kind: "set", name: "blocks", type: ["ipv4_addr"], flags: ["interval"] })
    .add({ kind: "set", name: "hosts", type: ["ipv4_addr"] })
    .add({ kind: "map", name: "ep4", type: ["ipv4_addr"], value: "verdict" })
    .add({ kind: "element", set: "blocks", elements: [{ key: ["198.18.0.0/24"] }] })
    .add({ kind: "element", set: "hosts", elements: [{ key: ["198.18.1.1"] }] })
    .add({
      kind: "element",
      set: "ep4",
      elements: [{ key: ["198.18.0.1"], value: verdict.jump("ep-a") }],
    })
    .add({ kind: "rule", chain: "forward", body: [vmap(ip.daddr, "ep4")] })
    .add({ kind: "rule", chain: "ep-a", body: [eq(ip.saddr, ref("hosts")), verdict.jump("ep-b")] })
    .add({ kind: "rule", chain: "ep-b", body: [verdict.accept] });
}

export interface BrokenCase {
  name: string;
  /** Commands after a harmless first one, so a failure mid-transaction is what is tested. */
  build(tx: Transaction): Transaction;
  code: NftErrorCode;
}

export const brokenCases: BrokenCase[] = [
  {
    name: "a rule jumping to a missing chain",
    code: "ENOENT",
    build: (tx) => tx.add({ kind: "rule", chain: "ep-b", body: [verdict.jump("nowhere")] }),
  },
  {
    name: "a rule in a missing chain",
    code: "ENOENT",
    build: (tx) => tx.add({ kind: "rule", chain: "nowhere", body: [verdict.accept] }),
  },
  {
    name: "a rule matching a missing set",
    code: "ENOENT",
    build: (tx) =>
      tx.add({ kind: "rule", chain: "ep-b", body: [eq(ip.saddr, ref("nothing")), verdict.accept] }),
  },
  {
    name: "a rule matching an IPv4 set with ip6 saddr",
    code: "EINVAL",
    build: (tx) =>
      tx.add({ kind: "rule", chain: "ep-b", body: [eq(ip6.saddr, ref("hosts")), verdict.accept] }),
  },
  {
    name: "a jump to a base chain",
    code: "EOPNOTSUPP",
    build: (tx) => tx.add({ kind: "rule", chain: "ep-b", body: [verdict.jump("forward")] }),
  },
  {
    name: "deleting a missing chain",
    code: "ENOENT",
    build: (tx) => tx.delete({ kind: "chain", name: "nowhere" }),
  },
  {
    name: "deleting a chain a rule jumps to",
    code: "EBUSY",
    build: (tx) => tx.delete({ kind: "chain", name: "ep-b" }),
  },
  {
    name: "deleting a chain a verdict map jumps to",
    code: "EBUSY",
    build: (tx) => tx.delete({ kind: "chain", name: "ep-a" }),
  },
  {
    name: "deleting a set a rule uses",
    code: "EBUSY",
    build: (tx) => tx.delete({ kind: "set", name: "hosts" }),
  },
  {
    name: "deleting a map a rule uses",
    code: "EBUSY",
    build: (tx) => tx.delete({ kind: "map", name: "ep4" }),
  },
  {
    name: "deleting a rule by a missing handle",
    code: "ENOENT",
    build: (tx) => tx.delete({ kind: "rule", chain: "ep-a", handle: 9999 }),
  },
  {
    name: "deleting a missing element",
    code: "ENOENT",
    build: (tx) =>
      tx.delete({ kind: "element", set: "hosts", elements: [{ key: ["198.18.9.9"] }] }),
  },
  {
    name: "deleting many elements, the last of them missing",
    code: "ENOENT",
    build: (tx) =>
      tx.delete({
        kind: "element",
        set: "hosts",
        elements: [{ key: ["198.18.1.1"] }, { key: ["198.18.9.9"] }],
      }),
  },
  {
    name: "adding many elements, one of them overlapping an interval",
    code: "EEXIST",
    build: (tx) =>
      tx.add({
        kind: "element",
        set: "blocks",
        elements: [{ key: ["198.18.4.0/24"] }, { key: ["198.18.0.128/25"] }],
      }),
  },
  {
    name: "adding many map elements, the last jumping to a missing chain",
    code: "ENOENT",
    build: (tx) =>
      tx.add({
        kind: "element",
        set: "ep4",
        elements: [
          { key: ["198.18.0.7"], value: verdict.jump("ep-b") },
          { key: ["198.18.0.9"], value: verdict.jump("nowhere") },
        ],
      }),
  },
  {
    name: "creating an existing set",
    code: "EEXIST",
    build: (tx) => tx.create({ kind: "set", name: "hosts", type: ["ipv4_addr"] }),
  },
  {
    name: "creating an existing chain",
    code: "EEXIST",
    build: (tx) => tx.create({ kind: "chain", name: "ep-a" }),
  },
  {
    name: "creating an existing element",
    code: "EEXIST",
    build: (tx) =>
      tx.create({ kind: "element", set: "hosts", elements: [{ key: ["198.18.1.1"] }] }),
  },
  {
    name: "an overlapping interval",
    code: "EEXIST",
    build: (tx) =>
      tx.add({
        kind: "element",
        set: "blocks",
        elements: [{ key: [range("198.18.0.200", "198.18.1.5")] }],
      }),
  },
  {
    name: "a map element with another verdict",
    code: "EEXIST",
    build: (tx) =>
      tx.add({
        kind: "element",
        set: "ep4",
        elements: [{ key: ["198.18.0.1"], value: verdict.drop }],
      }),
  },
  {
    name: "a map element jumping to a missing chain",
    code: "ENOENT",
    build: (tx) =>
      tx.add({
        kind: "element",
        set: "ep4",
        elements: [{ key: ["198.18.0.9"], value: verdict.jump("nowhere") }],
      }),
  },
  {
    name: "an element in a missing set",
    code: "ENOENT",
    build: (tx) => tx.add({ kind: "element", set: "nothing", elements: [{ key: ["198.18.0.9"] }] }),
  },
  {
    name: "an IPv6 element in an IPv4 set",
    code: "EINVAL",
    build: (tx) => tx.add({ kind: "element", set: "hosts", elements: [{ key: ["fd00::1"] }] }),
  },
  {
    name: "a prefix in a set without the interval flag",
    code: "EINVAL",
    build: (tx) =>
      tx.add({ kind: "element", set: "hosts", elements: [{ key: ["198.18.2.0/24"] }] }),
  },
  {
    name: "flushing a map as a set",
    code: "ENOENT",
    build: (tx) => tx.flush({ kind: "set", name: "ep4" }),
  },
  {
    name: "moving a base chain to another hook",
    code: "EOPNOTSUPP",
    build: (tx) =>
      tx.add({
        kind: "chain",
        name: "forward",
        base: { type: "filter", hook: "input", priority: 0 },
      }),
  },
  {
    name: "making a regular chain a base chain",
    code: "EEXIST",
    build: (tx) =>
      tx.add({ kind: "chain", name: "ep-a", base: { type: "filter", hook: "input", priority: 0 } }),
  },
  {
    name: "a command on a missing table",
    code: "ENOENT",
    build: (tx) =>
      new Transaction({ family: "inet", table: `${tx.table}-x` }).add({ kind: "chain", name: "c" }),
  },
];

/** The harmless first command of every broken transaction. */
export function brokenTransaction(c: BrokenCase, table: string): Transaction {
  const tx = new Transaction({ family: "inet", table }).add({ kind: "chain", name: "added-first" });
  return c.build(tx);
}
