// The real nft inside a network namespace this test creates: transactions apply whole or not
// at all, the reader reads back what the applier wrote, and the fake agrees with the kernel.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import { beforeEach, describe, test } from "node:test";
import {
  counter,
  dumpSorted,
  eq,
  KernelNftables,
  MemoryNftables,
  meta,
  NftError,
  Transaction,
  th,
  verdict,
} from "../../src/nft/index.ts";
import { brokenCases, brokenTransaction, startingRuleset } from "./cases.ts";
import { fullDump, fullTransaction } from "./fixtures.ts";
import { kernelInTestNetns } from "./kernel-netns.ts";
import { createTestNetns, rootSkipReason } from "./needs-root.ts";

const table = "microseg";

describe("nft in a network namespace", { skip: rootSkipReason() }, () => {
  const netns = kernelInTestNetns();
  const dump = async () => {
    const model = await netns.kernel.read("inet", table);
    return model ? dumpSorted(model) : "";
  };

  beforeEach(() => {
    execFileSync("ip", ["netns", "exec", netns.name, "nft", "flush", "ruleset"]);
  });

  test("the full transaction applies and reads back as the fake holds it", async () => {
    await netns.kernel.run(fullTransaction(table));
    assert.equal(await dump(), fullDump);
    const fake = new MemoryNftables();
    await fake.run(fullTransaction(table));
    assert.equal(await dump(), fake.dump());
  });

  test("the reader returns rules as AST, set elements, verdict maps and handles", async () => {
    await netns.kernel.run(startingRuleset(table));
    const model = await netns.kernel.read("inet", table);
    assert.ok(model);
    const ep4 = model.sets.find((s) => s.name === "ep4");
    assert.deepEqual(ep4?.elements, [
      { key: ["198.18.0.1"], value: { kind: "jump", chain: "ep-a" } },
    ]);
    assert.equal(ep4?.value, "verdict");
    const forward = model.chains.find((c) => c.name === "forward");
    assert.deepEqual(forward?.base, {
      type: "filter",
      hook: "forward",
      priority: 0,
      policy: "accept",
    });
    assert.deepEqual(forward?.rules[0]?.body, [
      { kind: "vmap", key: { kind: "payload", protocol: "ip", field: "daddr" }, map: "ep4" },
    ]);
    assert.equal(typeof forward?.rules[0]?.handle, "number");
  });

  test("counters read back with the packets that hit them", async () => {
    const output = { type: "filter", hook: "output", priority: 0, policy: "accept" } as const;
    await netns.kernel.run(
      new Transaction({ family: "inet", table })
        .add({ kind: "table" })
        .add({ kind: "chain", name: "output", base: output })
        .add({
          kind: "rule",
          chain: "output",
          body: [eq(meta.l4proto, "udp"), eq(th.dport, 9), counter(), verdict.accept],
        }),
    );
    execFileSync("ip", ["netns", "exec", netns.name, "ip", "link", "set", "lo", "up"]);
    const send =
      "const s=require('node:dgram').createSocket('udp4');s.send('x',9,'127.0.0.1',()=>s.close())";
    execFileSync("ip", ["netns", "exec", netns.name, process.execPath, "-e", send]);
    const model = await netns.kernel.read("inet", table);
    const stmt = model?.chains[0]?.rules[0]?.body.find((s) => s.kind === "counter");
    assert.deepEqual(stmt, { kind: "counter", packets: 1, bytes: 29 });
    assert.match(
      dumpSorted(model!, { counters: true }),
      /udp dport 9 counter packets 1 bytes 29 accept/,
    );
    assert.match(dumpSorted(model!), /udp dport 9 counter accept/);
  });

  for (const c of brokenCases) {
    test(`${c.name}: ${c.code}, the ruleset stays whole, the fake agrees`, async () => {
      await netns.kernel.run(startingRuleset(table));
      const beforeDump = await dump();
      const broken = brokenTransaction(c, table);
      await assert.rejects(netns.kernel.run(broken), (e: unknown) => {
        assert.ok(e instanceof NftError);
        assert.equal(e.code, c.code, e.stderr);
        assert.ok(e.stderr.length > 0, "nft's stderr is kept");
        return true;
      });
      assert.equal(await dump(), beforeDump, "nothing of the broken transaction was applied");
      const fake = new MemoryNftables();
      await fake.run(startingRuleset(table));
      assert.equal(fake.dump(), beforeDump);
      await assert.rejects(fake.run(broken), { code: c.code });
    });
  }

  test("check mode reports without changing anything", async () => {
    await netns.kernel.run(startingRuleset(table));
    const beforeDump = await dump();
    await netns.kernel.check(
      new Transaction({ family: "inet", table }).add({ kind: "chain", name: "checked" }),
    );
    await assert.rejects(netns.kernel.check(brokenTransaction(brokenCases[0]!, table)), {
      code: "ENOENT",
    });
    assert.equal(await dump(), beforeDump);
  });

  test("a validation error stops the transaction before nft runs", async () => {
    const bad = new Transaction({ family: "inet", table })
      .add({ kind: "table" })
      .add({ kind: "chain", name: "bad name" });
    await assert.rejects(netns.kernel.run(bad), { code: "invalid" });
    assert.equal(await netns.kernel.read("inet", table), undefined);
  });

  test("rules the AST has no shape for read back as unrecognized, so drift shows", async () => {
    await netns.kernel.run(startingRuleset(table));
    execFileSync("ip", [
      "netns",
      "exec",
      netns.name,
      "nft",
      "add",
      "rule",
      "inet",
      table,
      "ep-b",
      "tcp",
      "flags",
      "syn",
      "accept",
    ]);
    const model = await netns.kernel.read("inet", table);
    const rule = model?.chains.find((c) => c.name === "ep-b")?.rules[1];
    assert.equal(rule?.body[0]?.kind, "unknown");
    assert.match(dumpSorted(model!), /add rule inet microseg ep-b # unrecognized: .*"flags"/);
  });

  test("a refused transaction's error names nft's error and the command at fault", async () => {
    await netns.kernel.run(startingRuleset(table));
    const broken = brokenTransaction(brokenCases[1]!, table);
    await assert.rejects(netns.kernel.run(broken), (e: unknown) => {
      assert.ok(e instanceof NftError);
      assert.match(
        e.message,
        new RegExp(`in netns ${netns.name}: line \\d+: Error: .*No such file`),
      );
      assert.match(e.message, /\(in: add rule inet microseg nowhere accept\)/);
      return true;
    });
    await netns.kernel.run(
      new Transaction({ family: "inet", table }).add({ kind: "chain", name: "ok" }),
    );
  });

  test("no process per transaction: it works with no nft or ip binary to start", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const fresh = new KernelNftables({ netns: netns.name });
      await fresh.run(startingRuleset(table));
      for (let i = 0; i < 50; i++) {
        const el = `198.18.2.${i}`;
        await fresh.run(
          new Transaction({ family: "inet", table }).add({
            kind: "element",
            set: "hosts",
            elements: [{ key: [el] }],
          }),
        );
      }
      const hosts = (await fresh.read("inet", table))?.sets.find((s) => s.name === "hosts");
      assert.equal(hosts?.elements.length, 51);
      await fresh.close();
    } finally {
      process.env.PATH = path;
    }
  });

  test("each session writes its own namespace, never the host's", async () => {
    const other = createTestNetns();
    const elsewhere = new KernelNftables({ netns: other.name });
    const unique = `t${randomBytes(4).toString("hex")}`;
    try {
      await elsewhere.run(
        new Transaction({ family: "inet", table: unique }).add({ kind: "table" }),
      );
      assert.ok(await elsewhere.read("inet", unique));
      assert.equal(await netns.kernel.read("inet", unique), undefined);
      const host = execFileSync("nft", ["list", "tables"]).toString();
      assert.ok(!host.includes(unique), "the host has no such table");
    } finally {
      await elsewhere.close();
      other.remove();
    }
  });

  test("a namespace that does not exist fails every call, never falling back to the host", async () => {
    const missing = new KernelNftables({
      netns: `msxtest-missing-${randomBytes(4).toString("hex")}`,
    });
    const tx = new Transaction({ family: "inet", table: "never" }).add({ kind: "table" });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(missing.run(tx), (e: unknown) => {
        assert.ok(e instanceof NftError);
        assert.equal(e.code, "exec");
        assert.match(e.message, /cannot use libnftables in netns msxtest-missing-.*no such file/i);
        return true;
      });
    }
    assert.ok(!execFileSync("nft", ["list", "tables"]).toString().includes("table inet never"));
  });

  test("a small transaction commits on the calling thread, which stays in its own namespace", async () => {
    const home = readlinkSync("/proc/thread-self/ns/net");
    const unique = `t${randomBytes(4).toString("hex")}`;
    await netns.kernel.run(
      new Transaction({ family: "inet", table: unique }).add({ kind: "table" }),
    );
    assert.equal(readlinkSync("/proc/thread-self/ns/net"), home);
    assert.ok(await netns.kernel.read("inet", unique), "the table is in the test's namespace");
    assert.ok(!execFileSync("nft", ["list", "tables"]).toString().includes(unique));
  });

  test("transactions take effect in order when a large one is still on the worker", async () => {
    await netns.kernel.run(startingRuleset(table));
    // Over the inline size: this one goes to the worker thread.
    const many = Array.from({ length: 6000 }, (_, i) => ({
      key: [`198.18.${20 + (i >> 8)}.${i & 255}`],
    }));
    const large = new Transaction({ family: "inet", table }).add({
      kind: "element",
      set: "hosts",
      elements: many,
    });
    assert.ok(large.toString().length > 64 * 1024);
    const small = new Transaction({ family: "inet", table }).delete({
      kind: "element",
      set: "hosts",
      elements: [{ key: ["198.18.20.7"] }],
    });
    // Issued back to back: the small delete must find the element the large add made.
    await Promise.all([netns.kernel.run(large), netns.kernel.run(small)]);
    assert.equal(await netns.kernel.hasElement("inet", table, "hosts", "198.18.20.7"), false);
    assert.equal(await netns.kernel.hasElement("inet", table, "hosts", "198.18.20.8"), true);
  });

  test("a renamed chain keeps what led to it, as the fake renames it", async () => {
    await netns.kernel.run(startingRuleset(table));
    const rename = new Transaction({ family: "inet", table })
      .rename({ kind: "chain", name: "ep-a", to: "ep-d" })
      .rename({ kind: "chain", name: "ep-b", to: "ep-c" });
    await netns.kernel.run(rename);
    const fake = new MemoryNftables();
    await fake.run(startingRuleset(table));
    await fake.run(rename);
    assert.equal(await dump(), fake.dump());
    const model = (await netns.kernel.read("inet", table))!;
    assert.deepEqual(model.sets.find((s) => s.name === "ep4")?.elements[0]?.value, {
      kind: "jump",
      chain: "ep-d",
    });
    const d = model.chains.find((c) => c.name === "ep-d");
    assert.ok(d?.rules[0]?.body.some((st) => st.kind === "jump" && st.chain === "ep-c"));
    assert.ok(!model.chains.some((c) => c.name === "ep-a" || c.name === "ep-b"));
    const clash = new Transaction({ family: "inet", table }).rename({
      kind: "chain",
      name: "ep-c",
      to: "unused",
    });
    for (const nft of [netns.kernel, fake]) {
      await assert.rejects(nft.run(clash), (e: NftError) => e.code === "EEXIST");
    }
  });

  test("a missing table reads as undefined", async () => {
    assert.equal(await netns.kernel.read("inet", "absent"), undefined);
  });
});
