// `microseg agent` as a process in a node netns this test creates: it starts fail closed (a
// prober running through start-up never gets a denied flow through, and nothing new passes
// between the start-up table and the first sync), it restarts without dropping an established
// connection, and it finds and repairs out-of-band changes to its table.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentStatus } from "../../src/agent/index.ts";
import { checkDrift, DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import { desiredState } from "../../src/engine/desired.ts";
import type { Resource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import {
  type AgentProcess,
  NODE,
  namespace,
  podResource,
  startAgentProcess,
  until,
  webToDb,
  writeManifests,
} from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const dbPolicy: Resource = webToDb("db", [{ port: 5432 }]);

/** Pods elsewhere in the cluster, so the agent has real loading and computing to do. */
const filler = (n: number): Resource[] =>
  Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `far-${i}`, namespace: "shop", labels: { app: i % 3 ? "web" : "db" } },
    spec: { nodeName: "node-2", containers: [{ name: "c" }] },
    status: { podIP: `198.19.${10 + (i >> 8)}.${i & 255}` },
  }));

describe("microseg agent in a node netns", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let dir: string;
  let file: string;
  const agents: AgentProcess[] = [];
  const cfg = {
    ...DEFAULT_ENFORCEMENT,
    workloadInterfaces: [WORKLOAD_IFACES],
    podInterfacePrefix: POD_IFACE_PREFIX,
  };
  const cluster = (webLabel = "web") => [
    namespace,
    podResource("web", topo.pod("web"), { app: webLabel }),
    podResource("other", topo.pod("other"), { app: "other" }),
    podResource("db", topo.pod("db"), { app: "db" }),
    podResource("open", topo.pod("open"), { app: "open" }),
    dbPolicy,
  ];
  const start = (...extra: string[]) => {
    const a = startAgentProcess(topo.node, [
      "-f",
      file,
      "--ready-file",
      join(dir, "ready"),
      "--status-file",
      join(dir, "status.json"),
      "--workload-iface",
      WORKLOAD_IFACES,
      "--pod-iface-prefix",
      POD_IFACE_PREFIX,
      "--poll-interval",
      "50ms",
      // The drift checks below render the desired table without flow logging (`cfg`).
      "--no-flows",
      ...extra,
    ]);
    agents.push(a);
    return a;
  };
  const status = () => JSON.parse(readFileSync(join(dir, "status.json"), "utf8")) as AgentStatus;
  const stop = async (a: AgentProcess) => {
    a.child.kill("SIGTERM");
    return a.exited;
  };
  const nft = (...args: string[]) =>
    execFileSync("ip", ["netns", "exec", topo.node, "nft", ...args]).toString();

  before(async () => {
    topo = await TestTopology.create(["web", "other", "db", "open"], { tcp: [80, 5432], udp: [] });
    dir = mkdtempSync(join(tmpdir(), "msx-agent-kernel-"));
    file = join(dir, "cluster.yaml");
  });
  after(() => {
    for (const a of agents) a.child.kill("SIGKILL");
    topo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("starts fail closed: no denied flow passes while it starts, nothing new before sync", async (t) => {
    writeManifests(file, [...cluster(), ...filler(4000)]);
    const flows = [
      { name: "web->db", from: "web", to: "db", port: 5432, policy: true },
      { name: "other->db", from: "other", to: "db", port: 5432, policy: false },
      { name: "other->open", from: "other", to: "open", port: 80, policy: true },
    ];
    const probes: Array<{ flow: string; start: number; end: number; connected: boolean }> = [];
    let probing = true;
    const prober = async (f: (typeof flows)[number]) => {
      while (probing) {
        const begin = Date.now();
        const connected = await topo.probe({ ...f, protocol: "TCP", timeoutMs: 100 });
        probes.push({ flow: f.name, start: begin, end: Date.now(), connected });
      }
    };
    const running = flows.map(prober);
    await new Promise((r) => setTimeout(r, 200));
    const agent = start();
    await until("ready", () => existsSync(join(dir, "ready")));
    await new Promise((r) => setTimeout(r, 500));
    probing = false;
    await Promise.all(running);
    const timeOf = (msg: string) =>
      Date.parse(String(agent.logs.find((l) => l.msg === msg)?.time ?? "invalid"));
    const boot = timeOf("start-up table installed");
    const ready = timeOf("ready: first full sync applied");
    assert.ok(boot < ready, "the start-up table went in before the first sync");
    // Log times have millisecond resolution and the table goes in before its line is logged:
    // a probe that began within the line's millisecond may have connected just before.
    const denied = probes.filter((p) => p.flow === "other->db" && p.start > boot && p.connected);
    assert.deepEqual(denied, [], "a denied flow got through after the start-up table");
    // The kernel can take the first sync any time after the agent hands it over (the log line
    // after the commit may be late on a loaded machine): nothing may connect before that.
    const sent = timeOf("apply: sending while not ready");
    assert.ok(boot < sent && sent <= ready, "the first sync was sent after the start-up table");
    const early = probes.filter((p) => p.start > boot && p.end <= sent && p.connected);
    assert.deepEqual(early, [], "something new got through before the first sync");
    for (const f of flows.filter((x) => !x.policy)) {
      const late = probes.filter((p) => p.flow === f.name && p.start > ready);
      assert.ok(late.length > 0);
      assert.ok(
        late.every((p) => !p.connected),
        `${f.name} after sync: expected deny`,
      );
    }
    // The loop's 100 ms connects can time out on a loaded machine; each verdict after sync is
    // asked once more with time to answer.
    for (const f of flows) {
      const connected = await topo.probe({ ...f, protocol: "TCP", timeoutMs: 3000 });
      assert.equal(connected, f.policy, `${f.name} after sync`);
    }
    t.diagnostic(
      `start-up table to first sync: ${ready - boot} ms; ${probes.length} probes, ` +
        `${probes.filter((p) => p.start >= boot && p.end <= ready).length} during start-up (all dropped)`,
    );
    assert.equal(await stop(agent), 0);
  });

  test("restarts without dropping an established connection", async (t) => {
    writeManifests(file, cluster());
    rmSync(join(dir, "ready"), { force: true });
    const first = start();
    await until("ready", () => existsSync(join(dir, "ready")));
    const conn = await topo.open("web", "db", 5432);
    assert.ok(conn, "web -> db opens");
    assert.ok(await conn.send("before"));
    assert.equal(await stop(first), 0, "SIGTERM exits 0");
    assert.match(nft("list", "table", "inet", "microseg"), /chain forward/, "the table stays");
    // While the agent is down the policy changes: new web -> db connections are denied now.
    writeManifests(file, cluster("gone"));
    rmSync(join(dir, "ready"));
    const second = start();
    await until("ready again", () => existsSync(join(dir, "ready")));
    assert.ok(second.logs.some((l) => l.msg === "existing table kept"));
    assert.ok(await conn.send("after restart"), "the established connection still carries data");
    assert.equal(
      await topo.probe({ from: "web", to: "db", protocol: "TCP", port: 5432 }),
      false,
      "a new connection follows the new policy",
    );
    t.diagnostic("established web -> db survived SIGTERM, a policy change and a full resync");
    assert.equal(await stop(second), 0);
  });

  test("repairs a deleted rule and a foreign element, on SIGHUP and on its timer", async (t) => {
    writeManifests(file, cluster());
    rmSync(join(dir, "ready"), { force: true });
    const agent = start("--resync-interval", "0");
    await until("ready", () => existsSync(join(dir, "ready")));
    const kernel = new KernelNftables({ netns: topo.node });
    const state = desiredState(cluster(), NODE, POD_IFACE_PREFIX);
    // Out of band: the rule that lets web reach db goes, and an unknown address becomes local.
    const listing = nft("-a", "list", "table", "inet", "microseg");
    const allow = listing
      .split("\n")
      .find((l) => l.includes("mark set meta mark | 0x00010000") && l.includes("tcp dport 5432"));
    assert.ok(allow, "the db policy's allow rule is in the table");
    const chain = listing
      .slice(0, listing.indexOf(allow))
      .split("\n")
      .filter((l) => l.includes("chain "))
      .at(-1)!
      .trim()
      .split(" ")[1]!;
    const handle = allow.split("# handle ")[1]!.trim();
    nft("delete", "rule", "inet", "microseg", chain, "handle", handle);
    nft("add", "element", "inet", "microseg", "wl4", "{ 198.18.0.99 }");
    assert.equal(await topo.probe({ from: "web", to: "db", protocol: "TCP", port: 5432 }), false);
    const drift = await checkDrift(kernel, cfg, state);
    assert.deepEqual(
      drift.objects.map((o) => o.object),
      [`chain ${chain}`, "elements of wl4"],
    );
    agent.child.kill("SIGHUP");
    await until("the repair", () => agent.logs.some((l) => l.msg === "drift repair done"));
    const reported = agent.logs.find((l) => l.msg === "table drifted; repairing")!.drift;
    t.diagnostic(`detected: ${JSON.stringify(reported)}`);
    const after = await checkDrift(kernel, cfg, state);
    assert.ok(after.inSync, JSON.stringify(after.objects));
    assert.ok(await topo.probe({ from: "web", to: "db", protocol: "TCP", port: 5432 }));
    assert.deepEqual(status().drift?.objects, [`chain ${chain}`, "elements of wl4"]);
    assert.equal(await stop(agent), 0);

    const timed = start("--resync-interval", "300ms");
    await until("ready", () => timed.logs.some((l) => l.msg === "ready: first full sync applied"));
    nft("add", "element", "inet", "microseg", "wl4", "{ 198.18.0.98 }");
    await until("the timed repair", () => timed.logs.some((l) => l.msg === "drift repair done"));
    assert.ok((await checkDrift(kernel, cfg, state)).inSync);
    assert.equal(await stop(timed), 0);
  });
});
