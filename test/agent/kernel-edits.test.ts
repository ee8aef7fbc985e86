// In-place rule edits in the kernel, in a network namespace this test creates: a policy created
// last or deleted among twenty that select one server changes only the tail of the server's
// ingress chain (the rules before keep their handles, no flush), the live table equals the
// desired one after each edit and after a move (drift check clean), and an agent restarted over
// the table it left resyncs once, reads the new handles, and edits in place again.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { resourceKey, validResource } from "../../src/model/index.ts";
import { kernelInTestNetns } from "../nft/kernel-netns.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { NODE, namespace, podResource } from "./kernel-fixtures.ts";

const cfg = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["msx*"], podInterfacePrefix: "msx" };
const POLICIES = 20;

const policy = (j: number, order = j) =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name: `p-${j}` },
    spec: {
      order,
      selector: "role == 'server'",
      types: ["Ingress"],
      ingress: [
        {
          action: "Allow",
          protocol: "TCP",
          source: { selector: `role == 'peer-${j}'` },
          destination: { ports: [7000 + j] },
        },
      ],
    },
  });
const upsert = (...rs: ReturnType<typeof validResource>[]): ResourceEvent[] =>
  rs.map((resource) => ({ type: "upsert", resource }));

describe("in-place rule edits in the kernel", { skip: rootSkipReason() }, () => {
  const netns = kernelInTestNetns();

  /** The server's ingress chain: the endpoint chain that jumps to every policy. */
  const serverChain = async () => {
    const table = await netns.kernel.read("inet", cfg.table);
    const chain = table?.chains
      .filter((c) => c.name.startsWith("ep-") && c.name.endsWith("-in"))
      .sort((a, b) => b.rules.length - a.rules.length)[0];
    assert.ok(chain, "the server has an ingress chain");
    return { name: chain.name, handles: chain.rules.map((r) => r.handle!) };
  };
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

  test("create, move and delete a policy; restart; edit again", async () => {
    const server = podResource(
      "server",
      { ip: "198.18.7.2", ip6: "fd00::7:2" },
      { role: "server" },
    );
    const all = [namespace, server, ...Array.from({ length: POLICIES }, (_, j) => policy(j))];
    const agent = new Enforcer({ node: NODE, nft: netns.kernel, enforcement: cfg });
    assert.equal(await agent.bootstrap(), "installed");
    assert.equal((await agent.enforce(upsert(...all))).mode, "full");
    const start = await serverChain();

    // A policy ordered last: its jump and the chain's closing rules (the tier's default deny,
    // the default allow) are appended, after the old closing rules are deleted; nothing else.
    const created = await agent.enforce(upsert(policy(POLICIES, 100)));
    assert.equal(created.mode, "incremental");
    assert.equal(created.handles, undefined, "the handles of the last commit were read");
    const afterCreate = await serverChain();
    assert.equal(afterCreate.handles.length, start.handles.length + 1);
    tailRewritten(start.handles, afterCreate.handles, 3);
    assert.ok(
      created.commands < start.handles.length,
      `${created.commands} commands: the chain of ${start.handles.length} rules was rewritten`,
    );
    await inSync(agent, "after the create");

    // The new rules' handles were learned: deleting that policy again is a tail edit too.
    const deleted = await agent.enforce([{ type: "delete", key: resourceKey(policy(POLICIES)) }]);
    const afterDelete = await serverChain();
    tailRewritten(afterCreate.handles, afterDelete.handles, 2);
    assert.ok(deleted.commands < start.handles.length, `${deleted.commands} commands for a delete`);
    await inSync(agent, "after the delete");

    // Moved to the front, a policy changes the chain from its first jump on: correct, if dear.
    await agent.enforce(upsert(policy(3, -1)));
    await inSync(agent, "after the move");

    // Restart: a new agent keeps the table, resyncs it whole once, then reads its handles.
    const restarted = new Enforcer({ node: NODE, nft: netns.kernel, enforcement: cfg });
    assert.equal(await restarted.bootstrap(), "kept");
    const now = [...all.filter((r) => r.metadata.name !== "p-3"), policy(3, -1)];
    assert.equal((await restarted.enforce(upsert(...now))).mode, "full");
    await inSync(restarted, "after the restart's resync");
    const resynced = await serverChain();
    const again = await restarted.enforce(upsert(policy(POLICIES + 1, 100)));
    assert.equal(again.mode, "incremental");
    assert.equal(again.handles, undefined);
    tailRewritten(resynced.handles, (await serverChain()).handles, 3);
    assert.ok(again.commands < resynced.handles.length, `${again.commands} commands after restart`);
    await inSync(restarted, "after the edit following the restart");

    // The same state again changes nothing: no command at all.
    const same = await restarted.enforce(upsert(policy(POLICIES + 1, 100)));
    assert.equal(same.commands, 0);
  });
});
