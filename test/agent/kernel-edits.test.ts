// In-place rule edits in the kernel, in a network namespace this test creates: a rule added last
// to or deleted from a policy of twenty rules changes only the tail of the policy's chain (the
// rules before keep their handles, no flush), the live table equals the desired one after each
// edit and after a move (drift check clean), and an agent restarted over the table it left
// resyncs once, reads the new handles, and edits in place again. Endpoint chains are never
// edited: other tiers are another chain (names.ts), checked here too.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { validResource } from "../../src/model/index.ts";
import { kernelInTestNetns } from "../nft/kernel-netns.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { NODE, namespace, podResource } from "./kernel-fixtures.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["msx*"], podInterfacePrefix: "msx" };
const RULES = 20;

/** One policy selecting the server, with a rule per port 7000 + j for j in `rules`. */
const policy = (rules: readonly number[], name = "big", order = 100) =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name },
    spec: {
      order,
      selector: "role == 'server'",
      types: ["Ingress"],
      ingress: rules.map((j) => ({
        action: "Allow",
        protocol: "TCP",
        source: { selector: `role == 'peer-${j}'` },
        destination: { ports: [7000 + j] },
      })),
    },
  });
const range = (n: number) => Array.from({ length: n }, (_, j) => j);
const upsert = (...rs: ReturnType<typeof validResource>[]): ResourceEvent[] =>
  rs.map((resource) => ({ type: "upsert", resource }));

describe("in-place rule edits in the kernel", { skip: rootSkipReason() }, () => {
  const netns = kernelInTestNetns();

  /** A chain by name prefix and direction, the one with most rules. */
  const chainOf = async (prefix: string) => {
    const table = await netns.kernel.read("inet", cfg.table);
    const chain = table?.chains
      .filter((c) => c.name.startsWith(prefix) && c.name.endsWith("-in"))
      .sort((a, b) => b.rules.length - a.rules.length)[0];
    assert.ok(chain, `a chain ${prefix}*-in`);
    return { name: chain.name, handles: chain.rules.map((r) => r.handle!) };
  };
  /** The big policy's ingress chain, one rule per policy rule. */
  const policyChain = () => chainOf("pol-");
  /** The server's ingress chain, which jumps to its policies. */
  const serverChain = () => chainOf("ep-");
  /** The rules before the change keep their handles; `changed` rules at the end are new. */
  const tailRewritten = (before: number[], after: number[], changed: number) => {
    const kept = after.length - changed;
    assert.deepEqual(after.slice(0, kept), before.slice(0, kept), "rules before the change stay");
    const old = new Set(before);
    assert.ok(
      after.slice(kept).every((h) => !old.has(h)),
      `the last ${changed} rules are new: ${before} -> ${after}`,
    );
  };
  const inSync = async (enforcer: Enforcer, what: string) => {
    const drift = await enforcer.drift();
    assert.ok(drift.inSync, `${what}: ${JSON.stringify(drift.objects)}`);
  };

  test("add, delete and move a policy's rules; restart; edit again", async () => {
    const server = podResource(
      "server",
      { ip: "198.18.7.2", ip6: "fd00::7:2" },
      { role: "server" },
    );
    const all = [namespace, server, policy(range(RULES))];
    const agent = new Enforcer({ node: NODE, nft: netns.kernel, enforcement: cfg });
    assert.equal(await agent.bootstrap(), "installed");
    assert.equal((await agent.enforce(upsert(...all))).mode, "full");
    const start = await policyChain();
    // Each policy rule is one rule per family (its source set has an IPv4 and an IPv6 half).
    const perRule = start.handles.length / RULES;
    assert.equal(perRule, 2);

    // A rule added last: that rule is appended; nothing else.
    const added = await agent.enforce(upsert(policy(range(RULES + 1))));
    assert.equal(added.mode, "incremental");
    assert.equal(added.handles, undefined, "the handles of the last commit were read");
    const afterAdd = await policyChain();
    assert.equal(afterAdd.name, start.name);
    assert.equal(afterAdd.handles.length, (RULES + 1) * perRule);
    tailRewritten(start.handles, afterAdd.handles, perRule);
    assert.ok(added.commands < RULES, `${added.commands} commands: the chain was rewritten`);
    await inSync(agent, "after the add");

    // The new rule's handle was learned: deleting it again deletes that rule alone.
    const deleted = await agent.enforce(upsert(policy(range(RULES))));
    const afterDelete = await policyChain();
    assert.deepEqual(afterDelete.handles, afterAdd.handles.slice(0, RULES * perRule));
    assert.ok(deleted.commands < RULES, `${deleted.commands} commands for a delete`);
    await inSync(agent, "after the delete");

    // Moved to the front, a rule changes the chain from its first rule on: correct, if dear.
    const moved = [RULES - 1, ...range(RULES - 1)];
    await agent.enforce(upsert(policy(moved)));
    await inSync(agent, "after the move");

    // Another policy for the server is other tiers: another endpoint chain, the old one gone.
    const before = await serverChain();
    await agent.enforce(upsert(policy([0], "other", 200)));
    const other = await serverChain();
    assert.notEqual(other.name, before.name);
    const live = await netns.kernel.read("inet", cfg.table);
    assert.ok(!live?.chains.some((c) => c.name === before.name), "the old endpoint chain is gone");
    await inSync(agent, "after the server's tiers changed");

    // Restart: a new agent keeps the table, resyncs it whole once, then reads its handles.
    const restarted = new Enforcer({ node: NODE, nft: netns.kernel, enforcement: cfg });
    assert.equal(await restarted.bootstrap(), "kept");
    const now = [namespace, server, policy(moved), policy([0], "other", 200)];
    assert.equal((await restarted.enforce(upsert(...now))).mode, "full");
    await inSync(restarted, "after the restart's resync");
    const resynced = await policyChain();
    const again = await restarted.enforce(upsert(policy([...moved, RULES])));
    assert.equal(again.mode, "incremental");
    assert.equal(again.handles, undefined);
    tailRewritten(resynced.handles, (await policyChain()).handles, perRule);
    assert.ok(again.commands < RULES, `${again.commands} commands after restart`);
    await inSync(restarted, "after the edit following the restart");

    // The same state again changes nothing: no command at all.
    const same = await restarted.enforce(upsert(policy([...moved, RULES])));
    assert.equal(same.commands, 0);
  });
});
