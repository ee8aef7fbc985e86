// The agent's CNI side against the in-memory nftables (the kernel's transaction semantics,
// no root): an ADD waits for its pod to reach the source and answers once the pod's reported
// interface and addresses are in the table (bridge port in the bridge table, the bridge in
// the inet source pairs); refusals for a pod on another node or never seen; a stale DEL of an
// older sandbox changes nothing; DEL puts the pod back as the store has it; attachments are
// restored from the state file by a new agent; a deleted bridge table is found and rewritten
// by the drift check.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Agent, CniWorkloads, jsonLogger } from "../../src/agent/index.ts";
import type { Attachment } from "../../src/cni/wire.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import { MemorySource } from "../../src/datastore/index.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { MemoryNftables, Transaction } from "../../src/nft/index.ts";

const dir = mkdtempSync(join(tmpdir(), "mscni-agent-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const enforcement = { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["br0", "veth*"] };
const pod = (name: string, node = "node-1"): Resource =>
  validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop", labels: { app: name } },
    spec: { nodeName: node },
  });
const attachment = (name: string, containerId: string, ip: string): Attachment => ({
  containerId,
  pod: { namespace: "shop", name },
  netns: `/run/netns/${name}`,
  ifname: "eth0",
  hostInterface: `veth${name}`,
  bridge: "br0",
  mac: "02:00:00:00:00:0a",
  addresses: [ip],
});

async function started(state: string, nft: MemoryNftables, source: MemorySource) {
  const workloads = new CniWorkloads(state);
  const agent = new Agent({
    node: "node-1",
    source,
    nft,
    enforcement,
    log: jsonLogger({ level: "error" }),
    resyncIntervalMs: 0,
    cni: { workloads },
  });
  await agent.start();
  return agent;
}

const pairs = async (nft: MemoryNftables, family: "inet" | "bridge") =>
  ((await nft.read(family, enforcement.table))?.sets.find((s) => s.name === "src4")?.elements ?? [])
    .map((e) => e.key.join(" . "))
    .sort();

describe("agent: CNI requests", () => {
  const state = join(dir, "workloads.json");
  const nft = new MemoryNftables();
  const source = new MemorySource([
    validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }),
    pod("web"),
    pod("elsewhere", "node-2"),
  ]);

  it("ADD waits for the pod and answers once it is in both tables", async () => {
    const agent = await started(state, nft, source);
    try {
      const early = agent.cniAdd(attachment("late", "c-late", "198.18.3.4"), 5000);
      source.upsert(pod("late"));
      const answer = await early;
      assert.equal(answer.ok, true, JSON.stringify(answer));
      assert.deepEqual(await pairs(nft, "inet"), ["br0 . 198.18.3.4"]);
      assert.deepEqual(await pairs(nft, "bridge"), ["vethlate . 198.18.3.4"]);
      assert.equal((await agent.cniCheck("c-late", { namespace: "shop", name: "late" })).ok, true);
    } finally {
      await agent.stop();
    }
  });

  it("refuses a pod bound to another node and a pod it never sees", async () => {
    const agent = await started(state, nft, source);
    try {
      const other = await agent.cniAdd(attachment("elsewhere", "c-e", "198.18.3.5"), 200);
      assert.ok(!other.ok && other.code === 100 && /bound to node "node-2"/.test(other.msg));
      const ghost = await agent.cniAdd(attachment("ghost", "c-g", "198.18.3.6"), 200);
      assert.ok(!ghost.ok && /not in the agent's source/.test(ghost.msg));
      assert.deepEqual(await pairs(nft, "inet"), ["br0 . 198.18.3.4"]);
    } finally {
      await agent.stop();
    }
  });

  it("an IPv6 address on a bridge port: in both tables' source pairs, and its advertisements' target", async () => {
    const agent = await started(state, nft, source);
    try {
      const dual = {
        ...attachment("web", "c-w", "198.18.3.8"),
        addresses: ["198.18.3.8", "fd00::6"],
      };
      const answer = await agent.cniAdd(dual, 1000);
      assert.equal(answer.ok, true, JSON.stringify(answer));
      const bridge = await nft.read("bridge", enforcement.table);
      const elements = (name: string) =>
        bridge?.sets.find((x) => x.name === name)?.elements.map((e) => e.key.join(" . ")) ?? [];
      assert.deepEqual(elements("src6"), ["vethweb . fd00::6"]);
      assert.deepEqual(elements("nd-targets"), ["vethweb . 0xfd000000000000000000000000000006"]);
      // 02:00:00:00:00:0a as the integer nft compares the option's 48 bits with.
      assert.deepEqual(elements("lladdr"), ["vethlate . 2199023255562", "vethweb . 2199023255562"]);
      const inet = await nft.read("inet", enforcement.table);
      const src6 = inet?.sets
        .find((x) => x.name === "src6")
        ?.elements.map((e) => e.key.join(" . "));
      assert.deepEqual(src6, ["br0 . fd00::6"]);
      assert.equal((await agent.cniDel("c-w", { namespace: "shop", name: "web" })).ok, true);
      const after = await nft.read("bridge", enforcement.table);
      assert.deepEqual(after?.sets.find((x) => x.name === "nd-targets")?.elements, []);
    } finally {
      await agent.stop();
    }
  });

  it("a new agent restores the sandboxes; a stale DEL changes nothing; drift; DEL removes", async () => {
    const agent = await started(state, nft, source);
    try {
      assert.deepEqual(await pairs(nft, "inet"), ["br0 . 198.18.3.4"]);
      const replaced = await agent.cniAdd(attachment("late", "c-late-2", "198.18.3.7"), 1000);
      assert.equal(replaced.ok, true);
      assert.equal((await agent.cniDel("c-late", undefined)).ok, true);
      assert.deepEqual(await pairs(nft, "inet"), ["br0 . 198.18.3.7"]);
      assert.deepEqual(await pairs(nft, "bridge"), ["vethlate . 198.18.3.7"]);
      // Someone deletes the bridge table: the drift check puts it back.
      await nft.run(
        new Transaction({ family: "bridge", table: enforcement.table }).delete({ kind: "table" }),
      );
      assert.deepEqual(await pairs(nft, "bridge"), []);
      await agent.checkDrift();
      assert.deepEqual(await pairs(nft, "bridge"), ["vethlate . 198.18.3.7"]);
      assert.ok(agent.status().drift?.objects.some((o) => o.startsWith("bridge ")));
      const del = await agent.cniDel("c-late-2", { namespace: "shop", name: "late" });
      assert.equal(del.ok, true);
      assert.deepEqual(await pairs(nft, "inet"), []);
      assert.deepEqual(await pairs(nft, "bridge"), []);
      const check = await agent.cniCheck("c-late-2", { namespace: "shop", name: "late" });
      assert.ok(!check.ok && check.code === 3);
    } finally {
      await agent.stop();
    }
  });
});
