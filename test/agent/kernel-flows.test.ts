// `microseg agent -f` with flow logs, as an operator runs it, in a node netns this test
// creates: the agent supervises ulogd2 there, writes flow records and alerts as JSON lines
// (manifest mode), samples allowed connections 1 in 4 while every deny is logged, reads the
// policy chains' counters into its status, and its sampled ruleset reads back without drift.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { type AgentStatus, AgentStatusSchema, flowsUnavailable } from "../../src/agent/index.ts";
import { AlertSchema, FlowRecordSchema } from "../../src/flows/index.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import {
  type AgentProcess,
  NODE,
  startAgentProcess,
  until,
  writeManifests,
} from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const examples = fileURLToPath(new URL("../../examples/blue-ldap/policies.yaml", import.meta.url));
const ldap = parseAllDocuments(readFileSync(examples, "utf8")).map((d) => validResource(d.toJS()));

const skip = rootSkipReason() || (flowsUnavailable() ?? false);
const SAMPLE = 4;
const ALLOWED = 80;
const DENIED = 20;

describe("the agent's flow logs in its node netns", { skip, timeout: 180_000 }, () => {
  let topo: TestTopology;
  let dir: string;
  let agent: AgentProcess;
  let args: string[];
  const statusFile = () => join(dir, "status.json");
  const flowLog = () => join(dir, "flows.jsonl");
  const status = (): AgentStatus | undefined => {
    try {
      return AgentStatusSchema.parse(JSON.parse(readFileSync(statusFile(), "utf8")));
    } catch {
      return undefined;
    }
  };
  const lines = () =>
    existsSync(flowLog())
      ? readFileSync(flowLog(), "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>)
      : [];

  before(async () => {
    topo = await TestTopology.create(
      ["client", "other", "server"],
      { tcp: [389], udp: [] },
      { client: "blue", other: "blue", server: "blue" },
    );
    dir = mkdtempSync(join(tmpdir(), "msx-agentflows-"));
    const pod = (name: string, labels: Record<string, string>): Resource => {
      const p = topo.pod(name);
      return validResource({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "blue", labels },
        spec: {
          nodeName: NODE,
          containers: [{ name: "c", ports: [{ name: "ldap", containerPort: 389 }] }],
        },
        status: { podIP: p.ip, podIPs: [{ ip: p.ip }, { ip: p.ip6 }] },
      });
    };
    writeManifests(join(dir, "manifests.yaml"), [
      validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "blue" } }),
      pod("client", { color: "blue", role: "ldap-client" }),
      pod("other", { color: "blue", role: "web" }),
      pod("server", { color: "blue", role: "ldap-server" }),
      ...ldap,
    ]);
    args = [
      "-f",
      join(dir, "manifests.yaml"),
      "--workload-iface",
      WORKLOAD_IFACES,
      "--pod-iface-prefix",
      POD_IFACE_PREFIX,
      "--status-file",
      statusFile(),
      "--flow-dir",
      join(dir, "ulogd"),
      "--flow-log",
      flowLog(),
      "--flow-sample",
      String(SAMPLE),
      "--flow-interval",
      "1s",
      "--counter-interval",
      "200ms",
      "--resync-interval",
      "500ms",
    ];
    agent = startAgentProcess(topo.node, args);
    await until("flows running", () => status()?.flows?.ulogd?.state === "running", 30_000);
  });

  after(async () => {
    if (agent && agent.child.exitCode === null) {
      agent.child.kill("SIGTERM");
      await agent.exited;
    }
    // A ulogd2 orphaned by a failure halfway through the kill test is ours to stop.
    try {
      const pid = Number(readFileSync(join(dir, "ulogd", "ulogd.pid"), "utf8"));
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
    } catch {
      // no pid file, or that process is gone
    }
    topo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the status reports flows on, ulogd2 running, the sample", () => {
    const flows = status()!.flows!;
    assert.equal(flows.enabled, true);
    assert.equal(flows.sample, SAMPLE);
    assert.equal(flows.ulogd?.restarts, 0);
    assert.equal(flows.shipping?.to, "file");
  });

  test("a non-client's LDAP attempt: an alert line at once, then a deny record naming blue-ldap", async () => {
    const sentAt = Date.now();
    assert.equal(
      await topo.probe({ from: "other", to: "server", protocol: "TCP", port: 389 }),
      false,
    );
    await until("the alert line", () => lines().some((l) => l.type === "alert"), 5000);
    const alertAt = Date.now();
    const { type: _, ...alert } = lines().find((l) => l.type === "alert")!;
    const a = AlertSchema.parse(alert);
    assert.deepEqual(
      [a.alert, a.source, a.destination, a.port, a.policy],
      ["blue-ldap-violation", "blue/other", "blue/server", "389", "blue-ldap"],
    );
    assert.ok(alertAt - sentAt < 2000, `alert written ${alertAt - sentAt} ms after the attempt`);
    // The attempt's record: other drops (a namespace's own multicast chatter on a loaded
    // machine, say) are logged too, and may come first.
    const isAttempt = (l: Record<string, unknown>) => {
      const f = l.fields as { action: string; dest_port?: string; proto?: string };
      return l.type === "flow" && f.action === "deny" && f.dest_port === "389";
    };
    await until("the deny record", () => lines().some(isAttempt), 10_000);
    const { type: __, ...record } = lines().find(isAttempt)!;
    const r = FlowRecordSchema.parse(record);
    assert.deepEqual(
      [r.fields.source_name, r.fields.dest_name, r.fields.policy, r.fields.tier],
      ["other", "server", "blue-ldap", "security"],
    );
  });

  test("allowed connections are logged 1 in 4, every deny is logged", async () => {
    const before = status()!.flows!.byAction;
    for (let i = 0; i < ALLOWED; i++) {
      assert.equal(
        await topo.probe({ from: "client", to: "server", protocol: "TCP", port: 389 }),
        true,
      );
    }
    for (let i = 0; i < DENIED; i++) {
      assert.equal(
        await topo.probe({ from: "other", to: "server", protocol: "TCP", port: 389 }),
        false,
      );
    }
    const denies = () => (status()?.flows?.byAction.deny ?? 0) - (before.deny ?? 0);
    await until("every deny logged", () => denies() >= DENIED, 10_000);
    // One SYN per attempt (400 ms probes, before any retransmission): exactly one log each.
    assert.equal(denies(), DENIED);
    const allows = (status()!.flows!.byAction.allow ?? 0) - (before.allow ?? 0);
    // Each draw 1 in 4: the server's ingress allows the 80 (blue-ldap, A), and the clients'
    // egress, which no policy selects, allows all 100 (N). Binomial(180, 1/4): mean 45, sd 5.8;
    // these bounds are more than 3.4 sd away.
    const draws = 2 * ALLOWED + DENIED;
    assert.ok(allows >= 25 && allows <= 65, `${allows} of ${draws} allowed draws logged`);
  });

  test("the status carries the policy chains' counters per rule", async () => {
    const counter = (rule: number, action: string) =>
      status()?.flows?.counters?.find(
        (c) =>
          c.tier === "security" &&
          c.policy === "blue-ldap" &&
          c.direction === "ingress" &&
          c.rule === rule &&
          c.action === action,
      );
    await until(
      "counters after the probes",
      () =>
        (counter(0, "allow")?.packets ?? 0) >= ALLOWED &&
        (counter(2, "deny")?.packets ?? 0) >= DENIED + 1,
      10_000,
    );
    // The sampling rule counts nothing: each allowed SYN is counted once, by the Allow rule.
    assert.equal(counter(0, "allow")!.packets, ALLOWED);
    assert.equal(counter(2, "deny")!.packets, DENIED + 1);
    assert.equal(counter(1, "log")!.packets, DENIED + 1);
  });

  test("the sampled ruleset reads back from the kernel without drift", async () => {
    const checked = status()?.drift?.checkedAt;
    await until("a later drift check", () => status()?.drift?.checkedAt !== checked, 10_000);
    assert.deepEqual(status()!.drift!.objects, []);
    assert.equal(status()!.fullSyncs, 1, "no drift repair happened");
  });

  test("an agent killed outright takes its ulogd2 with it; the next one stops a stray ulogd2 on its config and captures again", async () => {
    const old = status()!.flows!.ulogd!.pid!;
    agent.child.kill("SIGKILL");
    await agent.exited;
    const alive = (pid: number) =>
      existsSync(`/proc/${pid}/cmdline`) &&
      readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("ulogd");
    // The parent-death signal: no orphan holds the NFLOG groups.
    await until("ulogd2 to die with its agent", () => !alive(old), 10_000);
    // A ulogd2 that did outlive an agent (started by hand here) holds the NFLOG groups.
    const ulogdDir = join(dir, "ulogd");
    const stray = spawn(
      "ip",
      ["netns", "exec", topo.node, "ulogd", "-c", join(ulogdDir, "ulogd.conf")],
      { stdio: "ignore" },
    );
    writeFileSync(join(ulogdDir, "ulogd.pid"), `${stray.pid}\n`);
    await until("the stray ulogd2 running", () => alive(stray.pid!), 10_000);
    rmSync(statusFile());
    agent = startAgentProcess(topo.node, args);
    await until(
      "the new agent's ulogd2",
      () => status()?.flows?.ulogd?.state === "running",
      30_000,
    );
    assert.notEqual(status()!.flows!.ulogd!.pid, stray.pid);
    assert.equal(alive(stray.pid!), false, "the stray ulogd2 is gone");
    const alerts = lines().filter((l) => l.type === "alert").length;
    assert.equal(
      await topo.probe({ from: "other", to: "server", protocol: "TCP", port: 389 }),
      false,
    );
    await until(
      "an alert from the new agent",
      () => lines().filter((l) => l.type === "alert").length > alerts,
      5000,
    );
  });
});
