// A real lab: 2 nodes, 4 pods, each serving TCP, UDP and SCTP. Probes cross the node netns's
// forward path, so a drop rule there stops exactly the traffic it names.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
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
} from "../../src/dataplane/nftables/index.ts";
import {
  downFromState,
  Lab,
  listNetns,
  matrixProbes,
  type ProbeResult,
} from "../../src/lab/index.ts";
import { isRunning, pidsInNetns } from "../../src/lab/netns.ts";
import { rootSkipReason } from "../nft/needs-root.ts";

const ports = [
  { port: 8080, protocol: "TCP" as const },
  { port: 5353, protocol: "UDP" as const },
  { port: 3868, protocol: "SCTP" as const },
];
const spec = {
  nodes: [
    {
      name: "node-a",
      pods: [
        { name: "a1", ports },
        { name: "a2", ports },
      ],
    },
    {
      name: "node-b",
      pods: [
        { name: "b1", ports },
        { name: "b2", ports },
      ],
    },
  ],
};

const flow = (r: ProbeResult) => `${r.from} -> ${r.to} ${r.port}/${r.protocol} IPv${r.family}`;

function blockSourceTx(lab: Lab, pod: string): Transaction {
  const { ip: v4, ip6: v6 } = lab.pod(pod);
  const forward = { type: "filter", hook: "forward", priority: 0, policy: "accept" } as const;
  return new Transaction({ family: "inet", table: "microseg" })
    .add({ kind: "table" })
    .add({ kind: "chain", name: "forward", base: forward })
    .add({ kind: "set", name: "blocked", type: ["ipv4_addr"] })
    .add({ kind: "set", name: "blocked6", type: ["ipv6_addr"] })
    .add({ kind: "element", set: "blocked", key: [v4] })
    .add({ kind: "element", set: "blocked6", key: [v6] })
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
    const results = await lab.probe(matrixProbes(lab.plan, [4, 6]));
    assert.equal(results.length, 4 * 3 * 3 * 2);
    const denied = results.filter((r) => !r.allowed).map((r) => `${flow(r)}: ${r.outcome}`);
    assert.deepEqual(denied, []);
  });

  test("a drop rule in the node's forward hook stops exactly one pod's connections", async () => {
    const nodeA = new KernelNftables({ netns: lab.node("node-a").netns });
    await nodeA.apply(blockSourceTx(lab, "a1"));
    try {
      const results = await lab.probe(matrixProbes(lab.plan, [4, 6]), { timeoutMs: 500 });
      for (const r of results) {
        // Replies to a1's servers pass as established; only what a1 opens is dropped.
        const expected = r.from !== "a1";
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
      await nodeA.apply(
        new Transaction({ family: "inet", table: "microseg" }).delete({ kind: "table" }),
      );
    }
    const again = await lab.probe(matrixProbes(lab.plan));
    assert.deepEqual(
      again.filter((r) => !r.allowed).map(flow),
      [],
      "removing the table restores every path",
    );
  });

  test("down removes every namespace, prober and the state file", () => {
    const l = lab;
    // The probers and their SCTP peers are the processes inside the pod namespaces.
    const pids = pidsInNetns(l.plan.nodes.flatMap((n) => n.pods.map((p) => p.netns)));
    assert.equal(pids.length, 8, "a prober and an SCTP peer per pod");
    const report = l.down();
    assert.deepEqual(report.leftover, []);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(l.plan.prefix)),
      [],
    );
    assert.deepEqual(pids.filter(isRunning), [], "no prober or SCTP peer is left running");
    assert.equal(existsSync(l.stateFile), false);
  });
});

describe("lab teardown on failure and interruption", { skip: rootSkipReason() }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), "microseg-lab-"));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  test("a failure halfway through up removes what was created", async () => {
    const before = new Set(listNetns());
    await assert.rejects(
      Lab.up(spec, { stateDir, id: "fail1", python: "/nonexistent/python3" }),
      /prober in ms-fail1-/,
    );
    assert.deepEqual(
      listNetns().filter((n) => !before.has(n)),
      [],
    );
    assert.equal(existsSync(join(stateDir, "fail1.json")), false);
  });

  test("downFromState removes what a dead lab's state file records", () => {
    const file = join(stateDir, "dead1.json");
    execFileSync("ip", ["netns", "add", "ms-dead1-n1"]);
    execFileSync("ip", ["netns", "add", "ms-dead1-p1"]);
    const state = {
      id: "dead1",
      prefix: "ms-dead1-",
      netns: ["ms-dead1-n1", "ms-dead1-p1", "ms-dead1-never-made"],
      pids: [],
    };
    writeFileSync(file, JSON.stringify(state));
    assert.deepEqual(downFromState(file), { leftover: [] });
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith("ms-dead1-")),
      [],
    );
    assert.equal(existsSync(file), false);
  });

  test("an id already in use is refused, and the other lab's namespaces are left alone", async () => {
    execFileSync("ip", ["netns", "add", "ms-taken1-n1"]);
    try {
      await assert.rejects(Lab.up(spec, { stateDir, id: "taken1" }), /lab taken1 exists/);
      assert.ok(listNetns().includes("ms-taken1-n1"));
    } finally {
      execFileSync("ip", ["netns", "del", "ms-taken1-n1"]);
    }
  });

  test("SIGINT while a lab is up tears it down", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "interrupt-fixture.ts"), stateDir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const id = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("exit", (code) =>
        reject(new Error(`fixture exited with ${code} before the lab was up`)),
      );
    });
    assert.ok(
      listNetns().some((n) => n.startsWith(`ms-${id}-`)),
      "the lab was up",
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`ms-${id}-`)),
      [],
    );
    assert.equal(existsSync(join(stateDir, `${id}.json`)), false);
  });
});
