// A real lab with no agents: 2 nodes, pods serving TCP, UDP and SCTP, one of them on its node's
// network. Probes between pods cross the node netns's forward path, so a drop rule there stops
// exactly the traffic it names; apply() adds and removes pods while the lab runs; down() and
// failures leave nothing behind.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import {
  downLab,
  Lab,
  LabFiles,
  type LabSpec,
  listNetns,
  matrixProbes,
  type ProbeResult,
} from "../../src/lab/index.ts";
import { isRunning, pidsInNetns } from "../../src/lab/netns.ts";
import {
  counter,
  ct,
  eq,
  ip,
  ip6,
  KernelNftables,
  ref,
  states,
  Transaction,
  verdict,
} from "../../src/nft/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";

const ports = [
  { port: 8080, protocol: "TCP" as const },
  { port: 5353, protocol: "UDP" as const },
  { port: 3868, protocol: "SCTP" as const },
];
const spec: LabSpec = {
  nodes: ["node-a", "node-b"],
  pods: [
    { name: "a1", node: "node-a" },
    { name: "a2", node: "node-a" },
    { name: "b1", node: "node-b" },
    { name: "b2", node: "node-b" },
    { name: "h1", node: "node-a", hostNetwork: true },
  ],
  ports,
};

const flow = (r: ProbeResult) => `${r.from} -> ${r.to} ${r.port}/${r.protocol} IPv${r.family}`;
const denied = (results: ProbeResult[]) =>
  results.filter((r) => !r.allowed).map((r) => `${flow(r)}: ${r.outcome}`);

function blockSourceTx(lab: Lab, pod: string): Transaction {
  const { ip: v4, ip6: v6 } = lab.pod(pod);
  const forward = { type: "filter", hook: "forward", priority: 0, policy: "accept" } as const;
  return new Transaction({ family: "inet", table: "microseg" })
    .add({ kind: "table" })
    .add({ kind: "chain", name: "forward", base: forward })
    .add({ kind: "set", name: "blocked", type: ["ipv4_addr"] })
    .add({ kind: "set", name: "blocked6", type: ["ipv6_addr"] })
    .add({ kind: "element", set: "blocked", elements: [{ key: [v4] }] })
    .add({ kind: "element", set: "blocked6", elements: [{ key: [v6] }] })
    .add({
      kind: "rule",
      chain: "forward",
      body: [eq(ct.state, states("established", "related")), verdict.accept],
    })
    .add({
      kind: "rule",
      chain: "forward",
      body: [eq(ct.state, states("invalid")), counter(), verdict.drop],
    })
    .add({
      kind: "rule",
      chain: "forward",
      body: [eq(ip.saddr, ref("blocked")), counter(), verdict.drop],
    })
    .add({
      kind: "rule",
      chain: "forward",
      body: [eq(ip6.saddr, ref("blocked6")), counter(), verdict.drop],
    });
}

describe("network-namespace lab", { skip: rootSkipReason() }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-lab-"));
  let lab: Lab;

  before(async () => {
    lab = await Lab.up(spec, { stateDir });
  });
  after(() => {
    lab?.down();
    rmSync(stateDir, { recursive: true, force: true });
  });

  test("with no ruleset every pod reaches every other on TCP, UDP and SCTP, IPv4 and IPv6", async () => {
    const results = await lab.probe(matrixProbes(lab.plan, { families: [4, 6] }));
    assert.equal(results.length, 5 * 4 * 3 * 2);
    assert.deepEqual(denied(results), []);
  });

  test("a host-network pod lives in its node's netns, on the node's addresses", () => {
    const h1 = lab.pod("h1");
    const node = lab.node("node-a");
    assert.deepEqual([h1.netns, h1.ip, h1.ip6], [node.netns, node.underlayIp, node.underlayIp6]);
  });

  test("probers are detached: another process's attach reaches them", async () => {
    const other = Lab.attach(lab.files);
    try {
      const results = await other.probe(matrixProbes(other.plan, { from: ["b2"] }));
      assert.equal(results.length, 4 * 3);
      assert.deepEqual(denied(results), []);
    } finally {
      other.detach();
    }
  });

  test("a drop rule in the node's forward hook stops exactly one pod's connections", async () => {
    const nodeA = new KernelNftables({ netns: lab.node("node-a").netns });
    await nodeA.run(blockSourceTx(lab, "a1"));
    try {
      const results = await lab.probe(matrixProbes(lab.plan, { families: [4, 6] }), {
        timeoutMs: 500,
      });
      for (const r of results) {
        // Replies to a1's servers pass as established; only what a1 opens is dropped, except
        // towards its own node, which is input, not forward.
        const expected = r.from !== "a1" || r.to === "h1";
        assert.equal(
          r.allowed,
          expected,
          `${flow(r)}: expected ${expected ? "allow" : "deny"}, got ${r.outcome}`,
        );
      }
      const model = await nodeA.read("inet", "microseg");
      const counts = model?.chains[0]?.rules.map((rule) =>
        rule.body.find((s) => s.kind === "counter"),
      );
      assert.equal(
        counts?.[1] && "packets" in counts[1] ? counts[1].packets : -1,
        0,
        "no SCTP, TCP or UDP packet was invalid to conntrack",
      );
      assert.ok(
        counts?.[2] && "packets" in counts[2] && (counts[2].packets ?? 0) >= 9,
        "IPv4 drops were counted",
      );
    } finally {
      await nodeA.run(
        new Transaction({ family: "inet", table: "microseg" }).delete({ kind: "table" }),
      );
    }
    assert.deepEqual(denied(await lab.probe(matrixProbes(lab.plan))), [], "every path is back");
  });

  test("apply adds and removes pods and changes the served ports while the lab runs", async () => {
    const a2 = lab.pod("a2");
    const a2Prober = pidsInNetns([a2.netns]);
    assert.equal(a2Prober.length, 2, "a2 runs a prober and its SCTP peer");
    const report = await lab.apply({
      nodes: ["node-a", "node-b"],
      pods: [
        { name: "a1", node: "node-a" },
        { name: "b1", node: "node-b" },
        { name: "b2", node: "node-b" },
        { name: "c1", node: "node-b" },
        { name: "c2", node: "node-a", ip: "198.18.77.7" },
        { name: "h1", node: "node-a", hostNetwork: true },
      ],
      ports: [ports[0]!, { port: 7, protocol: "UDP" }],
    });
    assert.deepEqual(report, { added: ["c1", "c2"], removed: ["a2"] });
    assert.ok(!listNetns().includes(a2.netns), "a2's netns is gone");
    assert.deepEqual(a2Prober.filter(isRunning), [], "a2's prober is gone");
    assert.equal(lab.pod("c2").ip, "198.18.77.7");
    const results = await lab.probe(matrixProbes(lab.plan, { families: [4, 6] }));
    assert.equal(results.length, 6 * 5 * 2 * 2);
    assert.deepEqual(denied(results), []);
    const old = await lab.probe([{ from: "c1", to: "b1", port: 5353, protocol: "UDP" }]);
    assert.equal(old[0]?.outcome, "refused", "a port no longer served is closed");
  });

  test("down removes every namespace, process and file", () => {
    const l = lab;
    const netns = [l.plan.underlayNetns, ...l.plan.nodes.map((n) => n.netns)];
    const pods = l.plan.pods.map((p) => p.netns);
    const pids = pidsInNetns([...netns, ...pods]);
    assert.equal(pids.length, 12, "a prober and an SCTP peer per pod");
    const report = l.down();
    assert.deepEqual(report, { leftover: [], processes: [] });
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(l.plan.prefix)),
      [],
    );
    assert.deepEqual(pids.filter(isRunning), [], "no prober or SCTP peer is left running");
    assert.equal(existsSync(l.files.dir), false);
  });
});

describe("lab teardown on failure and interruption", { skip: rootSkipReason() }, () => {
  // Ids of at most 8 characters, unique per run: other runs of this suite may share the machine.
  const suffix = randomBytes(2).toString("hex");
  const fail = `f${suffix}`;
  const dead = `d${suffix}`;
  const taken = `t${suffix}`;
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-lab-"));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  test("a failure halfway through up removes what was created", async () => {
    await assert.rejects(
      Lab.up(spec, { stateDir, id: fail, python: "/nonexistent/python3" }),
      new RegExp(`prober in ms-${fail}-p\\d exited before it was ready`),
    );
    // Only this lab's own prefix: other suites run concurrently and make namespaces of theirs.
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`ms-${fail}-`)),
      [],
    );
    assert.equal(existsSync(join(stateDir, fail)), false);
  });

  test("downLab removes what a dead lab's state records, and namespaces with its prefix", () => {
    const files = LabFiles.of(stateDir, dead);
    files.create();
    execFileSync("ip", ["netns", "add", `ms-${dead}-n0`]);
    execFileSync("ip", ["netns", "add", `ms-${dead}-p7`]);
    const state = { id: dead, netns: [`ms-${dead}-n0`, `ms-${dead}-never`] };
    writeFileSync(files.state, JSON.stringify(state));
    assert.deepEqual(downLab(files), { leftover: [], processes: [] });
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`ms-${dead}-`)),
      [],
    );
    assert.equal(existsSync(files.dir), false);
  });

  test("an id already in use is refused, and the other lab's namespaces are left alone", async () => {
    execFileSync("ip", ["netns", "add", `ms-${taken}-n1`]);
    try {
      await assert.rejects(
        Lab.up(spec, { stateDir, id: taken }),
        new RegExp(`lab ${taken} exists`),
      );
      assert.ok(listNetns().includes(`ms-${taken}-n1`));
    } finally {
      execFileSync("ip", ["netns", "del", `ms-${taken}-n1`]);
    }
  });

  test("SIGINT while a lab is up tears it down", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "interrupt-fixture.ts"), stateDir],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const id = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("exit", (code) =>
        reject(new Error(`fixture exited with ${code} before the lab was up`)),
      );
    });
    const files = LabFiles.of(stateDir, id);
    const netns = listNetns().filter((n) => n.startsWith(`ms-${id}-`));
    assert.ok(netns.length > 0, "the lab was up");
    const pids = pidsInNetns(netns);
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`ms-${id}-`)),
      [],
    );
    assert.ok(pids.length >= 3, "a prober, its SCTP peer and an agent ran");
    assert.deepEqual(pids.filter(isRunning), [], "the detached probers and agent went with it");
    assert.equal(existsSync(files.dir), false);
  });
});
