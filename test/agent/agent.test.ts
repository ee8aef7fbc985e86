// The agent against the fake nftables: start-up table, first full sync and ready file, file
// changes applied as batches, rejected manifest sets, failed transactions retried as full
// resyncs, drift found and repaired, and a table already in place kept until the first sync.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { stringify } from "yaml";
import { Agent, type AgentStatus, jsonLogger } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT, desiredDump } from "../../src/dataplane/nftables/index.ts";
import { ManifestSource } from "../../src/datastore/index.ts";
import { desiredState } from "../../src/engine/desired.ts";
import { loadManifests } from "../../src/model/index.ts";
import { MemoryNftables, type Nftables, NftError, type Transaction } from "../../src/nft/index.ts";
import { POD_IFACE_PREFIX, WORKLOAD_IFACES } from "./netns-topology.ts";

const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
};

const pod = (name: string, ip: string, app: string, node = "node-1") => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop", labels: { app } },
  spec: { nodeName: node, containers: [{ name: "c" }] },
  status: { podIP: ip, podIPs: [{ ip }] },
});

const policy = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "db", namespace: "shop" },
  spec: {
    podSelector: { matchLabels: { app: "db" } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
  },
};

const manifests = (...docs: unknown[]) => docs.map((d) => stringify(d)).join("---\n");
const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } };
const base = [
  namespace,
  pod("web", "198.18.0.1", "web"),
  pod("db", "198.18.0.2", "db"),
  pod("api", "198.18.1.1", "web", "node-2"),
  policy,
];

/** Fails the next `n` transactions that change something, as a broken nft would. */
class FlakyNftables implements Nftables {
  failures = 0;
  constructor(readonly inner: MemoryNftables) {}
  run(tx: Transaction): Promise<void> {
    if (tx.size > 0 && this.failures > 0) {
      this.failures--;
      return Promise.reject(new NftError("EINVAL", "injected failure"));
    }
    return this.inner.run(tx);
  }
  check(tx: Transaction): Promise<void> {
    return this.inner.check(tx);
  }
  read(family: "inet", table: string) {
    return this.inner.read(family, table);
  }
}

describe("agent", () => {
  let dir: string;
  let file: string;
  let agent: Agent | undefined;
  const logs: string[] = [];
  const status = (): AgentStatus | undefined => {
    try {
      return JSON.parse(readFileSync(join(dir, "status.json"), "utf8")) as AgentStatus;
    } catch {
      return undefined;
    }
  };
  const until = async (what: string, done: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${logs.join("")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const expected = async () => {
    const loaded = await loadManifests([file]);
    assert.ok(loaded.ok);
    return desiredDump(cfg, desiredState(loaded.resources, "node-1", cfg.podInterfacePrefix));
  };
  const start = async (nft: Nftables) => {
    agent = new Agent({
      node: "node-1",
      source: new ManifestSource([file], { pollMs: 10 }),
      nft,
      enforcement: cfg,
      log: jsonLogger({ write: (l) => logs.push(l), level: "debug" }),
      resyncIntervalMs: 0,
      readyFile: join(dir, "ready"),
      statusFile: join(dir, "status.json"),
      retryMs: { first: 10, max: 40 },
    });
    await agent.start();
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "msx-agent-"));
    file = join(dir, "cluster.yaml");
    logs.length = 0;
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test("syncs in full at start, writes ready and status, enforces the node's pods", async () => {
    writeFileSync(file, manifests(...base));
    const fake = new MemoryNftables();
    await start(fake);
    assert.ok(existsSync(join(dir, "ready")));
    const s = status()!;
    assert.equal(s.revision, 1);
    assert.equal(s.ready, true);
    assert.equal(s.resources, 5);
    assert.equal(s.endpoints, 2, "web and db on node-1; api is on node-2");
    assert.equal(s.policies, 1);
    assert.equal(s.lastError, undefined);
    assert.equal(fake.dump(), await expected());
  });

  test("file changes arrive as batches; the table follows", async () => {
    writeFileSync(file, manifests(...base));
    const fake = new MemoryNftables();
    await start(fake);
    writeFileSync(
      file,
      manifests(namespace, pod("web", "198.18.0.7", "web"), pod("db", "198.18.0.2", "db"), policy),
    );
    await until("revision 2", () => status()?.revision === 2);
    assert.equal(status()!.resources, 4);
    assert.equal(fake.dump(), await expected());
  });

  test("an invalid manifest set is rejected whole; the last good one stays", async () => {
    writeFileSync(file, manifests(...base));
    const fake = new MemoryNftables();
    await start(fake);
    const before = fake.dump();
    writeFileSync(file, `${manifests(...base)}---\nkind: Pod\nmetadata: {}\n`);
    await until("the rejection", () => status()?.lastError !== undefined);
    assert.match(status()!.lastError!, /manifests rejected/);
    assert.equal(status()!.revision, 1);
    assert.equal(fake.dump(), before);
    writeFileSync(file, manifests(...base.filter((r) => r !== policy)));
    await until("revision 2", () => status()?.revision === 2);
    assert.equal(status()!.lastError, undefined);
    assert.equal(fake.dump(), await expected());
  });

  test("a failed transaction leaves the table whole and is retried as a full resync", async () => {
    writeFileSync(file, manifests(...base));
    const flaky = new FlakyNftables(new MemoryNftables());
    await start(flaky);
    const before = flaky.inner.dump();
    flaky.failures = 2;
    writeFileSync(file, manifests(...base.filter((r) => r !== policy)));
    await until("the failure", () => status()?.lastError !== undefined);
    assert.match(status()!.lastError!, /injected failure/);
    assert.equal(flaky.inner.dump(), before, "nothing of the failed transaction applied");
    await until("the resync", () => status()?.lastError === undefined);
    assert.equal(status()!.revision, 2);
    assert.equal(flaky.inner.dump(), await expected());
    assert.ok(logs.some((l) => l.includes('"msg":"resync done"') && l.includes('"mode":"full"')));
    // The apply's retry, then the failed resync's: 10 ms doubling, each up to a quarter less.
    const waits = logs
      .map((l) => JSON.parse(l) as { msg: string; retryInMs?: number })
      .filter((l) => l.msg.endsWith("failed; the previous ruleset stays"))
      .map((l) => l.retryInMs ?? 0);
    assert.equal(waits.length, 2, `two failures logged: ${waits}`);
    assert.ok(waits[0]! >= 7 && waits[0]! <= 10 && waits[1]! >= 15 && waits[1]! <= 20, `${waits}`);
  });

  test("drift is found, reported by object, and repaired in one transaction", async () => {
    writeFileSync(file, manifests(...base));
    const fake = new MemoryNftables();
    await start(fake);
    const forward = (await fake.read("inet", "microseg"))!.chains.find(
      (c) => c.name === "forward",
    )!;
    const { Transaction } = await import("../../src/nft/index.ts");
    const invalidDrop = forward.rules.find((r) => JSON.stringify(r.body).includes('"invalid"'))!;
    await fake.run(
      new Transaction({ family: "inet", table: "microseg" })
        .delete({ kind: "rule", chain: "forward", handle: invalidDrop.handle! })
        .add({ kind: "element", set: "wl4", elements: [{ key: ["198.18.9.9"] }] }),
    );
    await agent!.checkDrift();
    assert.deepEqual(status()!.drift!.objects, ["chain forward", "elements of wl4"]);
    const warn = logs.find((l) => l.includes("table drifted"))!;
    assert.match(
      warn,
      /"missing":\["add rule inet microseg forward ct state invalid counter drop"\]/,
    );
    assert.match(warn, /"unexpected":\["add element inet microseg wl4 \{ 198.18.9.9 \}"\]/);
    assert.equal(fake.dump(), await expected());
    await agent!.checkDrift();
    assert.deepEqual(status()!.drift!.objects, []);
  });

  test("a table already in place is kept until the first sync replaces it", async () => {
    writeFileSync(file, `${manifests(...base)}---\nkind: Pod\nmetadata: {}\n`);
    const fake = new MemoryNftables();
    await start(fake);
    assert.equal(status()!.ready, false);
    assert.ok(!existsSync(join(dir, "ready")));
    const boot = fake.dump();
    assert.match(boot, /meta iifname "wl\*" counter log prefix "ms\|B\|/);
    await agent!.stop();
    await start(fake);
    assert.ok(logs.some((l) => l.includes("existing table kept")));
    assert.equal(fake.dump(), boot, "the start-up table stays while the manifests are invalid");
    writeFileSync(file, manifests(...base));
    await until("ready", () => existsSync(join(dir, "ready")));
    assert.equal(fake.dump(), await expected());
  });
});
