// The fake's transaction semantics, without root. kernel.test.ts runs the same cases against
// the real nft to show the fake and the kernel agree.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eq, ip, MemoryNftables, NftError, Transaction, verdict } from "../../src/nft/index.ts";
import { brokenCases, brokenTransaction, startingRuleset } from "./cases.ts";
import { fullDump, fullTransaction } from "./fixtures.ts";

const tx = () => new Transaction({ family: "inet", table: "t" });

async function started(): Promise<MemoryNftables> {
  const fake = new MemoryNftables();
  await fake.run(startingRuleset("t"));
  return fake;
}

async function rulesOf(fake: MemoryNftables, chain: string): Promise<string[]> {
  const model = await fake.read("inet", "t");
  const c = model?.chains.find((x) => x.name === chain);
  return (c?.rules ?? []).map((r) => r.body.map((s) => s.kind).join(" "));
}

describe("MemoryNftables", () => {
  test("holds what the full transaction describes", async () => {
    const fake = new MemoryNftables();
    await fake.run(fullTransaction());
    assert.equal(fake.dump(), fullDump);
  });

  for (const c of brokenCases) {
    test(`refuses ${c.name} with ${c.code} and keeps the ruleset whole`, async () => {
      const fake = await started();
      const before = fake.dump();
      await assert.rejects(fake.run(brokenTransaction(c, "t")), (e: unknown) => {
        assert.ok(e instanceof NftError);
        assert.equal(e.code, c.code, e.message);
        return true;
      });
      assert.equal(fake.dump(), before);
    });
  }

  test("surfaces a validation error at apply, changing nothing", async () => {
    const fake = await started();
    const before = fake.dump();
    const bad = tx().add({ kind: "chain", name: "ok" }).add({ kind: "chain", name: "not ok" });
    await assert.rejects(fake.run(bad), { code: "invalid" });
    assert.equal(fake.dump(), before);
  });

  test("check tells the outcome and changes nothing", async () => {
    const fake = await started();
    const before = fake.dump();
    await fake.check(tx().add({ kind: "chain", name: "new" }));
    await assert.rejects(fake.check(tx().delete({ kind: "chain", name: "nowhere" })), {
      code: "ENOENT",
    });
    assert.equal(fake.dump(), before);
  });

  test("add is idempotent for tables, chains, sets and elements", async () => {
    const fake = await started();
    const before = fake.dump();
    await fake.run(tx().flush({ kind: "table" }));
    const flushed = await fake.read("inet", "t");
    assert.deepEqual(
      flushed?.chains.map((c) => c.rules.length),
      [0, 0, 0, 0],
      "flushing the table empties every chain",
    );
    assert.equal(flushed?.sets.map((s) => s.elements.length).join(), "1,1,1", "and keeps elements");
    await fake.run(startingRuleset("t"));
    assert.equal(fake.dump(), before);
  });

  test("add places a rule after a handle, insert before it or first", async () => {
    const fake = await started();
    const handle = (await fake.read("inet", "t"))?.chains.find((c) => c.name === "ep-b")?.rules[0]
      ?.handle;
    assert.ok(handle);
    await fake.run(
      tx()
        .add({ kind: "rule", chain: "ep-b", handle, body: [verdict.drop] })
        .insert({ kind: "rule", chain: "ep-b", handle, body: [verdict.continue] })
        .insert({ kind: "rule", chain: "ep-b", body: [verdict.return] }),
    );
    assert.deepEqual(await rulesOf(fake, "ep-b"), ["return", "continue", "accept", "drop"]);
  });

  test("deleting an unreferenced chain drops its rules; a base chain's policy can change", async () => {
    const fake = await started();
    await fake.run(
      tx()
        .add({ kind: "rule", chain: "unused", body: [eq(ip.saddr, "198.18.0.1"), verdict.accept] })
        .delete({ kind: "chain", name: "unused" })
        .add({
          kind: "chain",
          name: "forward",
          base: { type: "filter", hook: "forward", priority: 0, policy: "drop" },
        }),
    );
    const model = await fake.read("inet", "t");
    assert.equal(
      model?.chains.some((c) => c.name === "unused"),
      false,
    );
    assert.equal(model?.chains.find((c) => c.name === "forward")?.base?.policy, "drop");
  });

  test("removing the last reference frees a chain within one transaction", async () => {
    const fake = await started();
    const handle = (await fake.read("inet", "t"))?.chains.find((c) => c.name === "ep-a")?.rules[0]
      ?.handle;
    await fake.run(
      tx()
        .delete({ kind: "rule", chain: "ep-a", handle: handle! })
        .delete({ kind: "chain", name: "ep-b" }),
    );
    assert.equal(
      (await fake.read("inet", "t"))?.chains.some((c) => c.name === "ep-b"),
      false,
    );
  });

  test("elements are matched by meaning: 198.18.1.1/32 deletes 198.18.1.1", async () => {
    const fake = await started();
    await assert.rejects(
      fake.run(tx().add({ kind: "element", set: "hosts", elements: [{ key: ["198.18.1.1/32"] }] })),
      { code: "EINVAL" },
      "a prefix, even /32, needs the interval flag",
    );
    await fake.run(
      tx().delete({ kind: "element", set: "blocks", elements: [{ key: ["198.18.0.0/24"] }] }),
    );
    await fake.run(
      tx().add({
        kind: "element",
        set: "blocks",
        elements: [{ key: [{ kind: "range", from: "198.18.0.0", to: "198.18.0.255" }] }],
      }),
    );
    assert.match(fake.dump(), /add element inet t blocks \{ 198\.18\.0\.0\/24 \}/);
  });

  test("a missing table reads as undefined, and deleting the table removes it", async () => {
    const fake = await started();
    await fake.run(tx().delete({ kind: "table" }));
    assert.equal(await fake.read("inet", "t"), undefined);
    assert.equal(fake.dump(), "");
  });
});
