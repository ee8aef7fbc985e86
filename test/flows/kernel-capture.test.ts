// Real packets through the rendered ruleset in network namespaces this test creates, logged to
// NFLOG and read by a real ulogd2 that src/flows supervises inside the node's netns: the blue
// LDAP example's deny arrives parsed and enriched, raises its alert within a second of the
// packet, and once per dedupe period; a Kubernetes default-deny names the isolating policy;
// ulogd2 killed mid-run is restarted and the records after the restart arrive; the output is
// rotated and followed; a connection's end (conntrack, through ulogd2's NFCT input) adds the
// packets and bytes the kernel counted to the allowed flow's record.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { Enforcer } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import {
  Aggregator,
  type Alert,
  AlertEvaluator,
  FlowCapture,
  FlowContext,
  type FlowLog,
  FlowPipeline,
  type FlowRecord,
  StreamSink,
} from "../../src/flows/index.ts";
import {
  type GlobalAlert,
  GlobalAlertSchema,
  type Resource,
  validResource,
} from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { NODE, until } from "../agent/kernel-fixtures.ts";
import {
  POD_IFACE_PREFIX,
  type TestPod,
  TestTopology,
  WORKLOAD_IFACES,
} from "../agent/netns-topology.ts";
import { rootSkipReason } from "../nft/needs-root.ts";

const examples = fileURLToPath(new URL("../../examples/blue-ldap/policies.yaml", import.meta.url));
const docs = parseAllDocuments(readFileSync(examples, "utf8")).map((d) => validResource(d.toJS()));
const ldapPolicies = docs.filter((d) => d.kind !== "GlobalAlert");
const ldapAlert: GlobalAlert = GlobalAlertSchema.parse(docs.find((d) => d.kind === "GlobalAlert"));
const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
  nflogGroup: 3,
  nflogAllowGroup: 4,
};

// Staged ahead of blue-ldap in its tier: would deny even the LDAP client.
const stagedLock = validResource({
  apiVersion: "microseg.io/v1",
  kind: "StagedGlobalNetworkPolicy",
  metadata: { name: "security.lock-ldap" },
  spec: {
    tier: "security",
    order: 1,
    selector: 'role == "ldap-server"',
    types: ["Ingress"],
    ingress: [{ action: "Deny", protocol: "TCP", destination: { ports: [389] } }],
  },
});

const pod = (name: string, p: TestPod, labels: Record<string, string>, ns = "blue"): Resource =>
  validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels },
    spec: {
      nodeName: NODE,
      containers: [{ name: "c", ports: [{ name: "ldap", containerPort: 389, protocol: "TCP" }] }],
    },
    status: { podIP: p.ip, podIPs: [{ ip: p.ip }, { ip: p.ip6 }] },
  });

describe("capture with ulogd2 in the node's netns", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let dir: string;
  let capture: FlowCapture;
  let pipeline: FlowPipeline;
  const logs: FlowLog[] = [];
  const alerts: Array<{ alert: Alert; at: number }> = [];

  before(async () => {
    topo = await TestTopology.create(
      ["client", "other", "server", "pg"],
      { tcp: [389, 5432], udp: [] },
      { client: "blue", other: "blue", server: "blue", pg: "prod" },
    );
    dir = mkdtempSync(join(tmpdir(), "msx-flows-"));
    const resources: Resource[] = [
      validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "blue" } }),
      validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "prod" } }),
      pod("client", topo.pod("client"), { color: "blue", role: "ldap-client" }),
      pod("other", topo.pod("other"), { color: "blue", role: "web" }),
      pod("server", topo.pod("server"), { color: "blue", role: "ldap-server" }),
      pod("pg", topo.pod("pg"), { app: "pg" }, "prod"),
      validResource({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "default-deny", namespace: "prod" },
        spec: { podSelector: {}, policyTypes: ["Ingress"] },
      }),
      ...ldapPolicies,
      stagedLock,
    ];
    const events = resources.map((resource) => ({ type: "upsert" as const, resource }));
    await new Enforcer({
      node: NODE,
      nft: new KernelNftables({ netns: topo.node }),
      enforcement: cfg,
    }).enforce(events);
    const context = new FlowContext();
    context.apply(events, Date.now());
    const stream = new StreamSink();
    stream.stream.subscribe((alert) => alerts.push({ alert, at: Date.now() }));
    pipeline = new FlowPipeline({
      context,
      aggregator: new Aggregator({ intervalMs: 1000 }),
      alerts: new AlertEvaluator([ldapAlert], { defaultAlert: false }),
      sinks: [stream],
    });
    pipeline.logs.subscribe((l) => logs.push(l));
    capture = new FlowCapture({
      dir,
      netns: topo.node,
      groups: [cfg.nflogGroup, cfg.nflogAllowGroup],
      conntrack: true,
      backoffMs: { first: 50, max: 500 },
      onPacket: (p) => pipeline.onPacket(p),
      onConnectionEnd: (c) => pipeline.onConnectionEnd(c),
    });
    await capture.start();
  });

  after(async () => {
    await capture?.stop();
    topo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a blue pod that is no LDAP client is denied, logged and alerted within a second", async () => {
    const sentAt = Date.now();
    assert.equal(
      await topo.probe({ from: "other", to: "server", protocol: "TCP", port: 389 }),
      false,
    );
    await until(
      "the deny record",
      () => logs.some((l) => l.fields.action === "deny" && l.fields.source_name === "other"),
      5000,
    );
    const d = logs.find((l) => l.fields.action === "deny" && l.fields.source_name === "other")!;
    assert.deepEqual(
      [
        d.fields.source_namespace,
        d.fields.dest_name,
        d.fields.dest_port,
        d.fields.dest_port_name,
        d.fields.proto,
        d.fields.tier,
        d.fields.policy,
        d.fields.reporter,
      ],
      ["blue", "server", "389", "ldap", "tcp", "security", "blue-ldap", "dst"],
    );
    assert.ok(
      logs.some((l) => l.fields.action === "log" && l.fields.policy === "blue-ldap"),
      "the Log rule's hit is recorded too",
    );
    await until("the alert", () => alerts.length > 0, 5000);
    const { alert, at } = alerts[0]!;
    assert.equal(alert.alert, "blue-ldap-violation");
    assert.equal(alert.source, "blue/other");
    assert.equal(alert.destination, "blue/server");
    assert.equal(alert.policy, "blue-ldap");
    const packetAt = Date.parse(alert.time);
    assert.ok(packetAt >= sentAt - 5, "the alert carries the packet's time");
    assert.ok(at - packetAt < 1000, `alert ${at - packetAt} ms after the packet`);
    // More attempts in the same period: no second alert.
    assert.equal(
      await topo.probe({ from: "other", to: "server", protocol: "TCP", port: 389 }),
      false,
    );
    await until(
      "the second attempt's record",
      () =>
        logs.filter((l) => l.fields.action === "deny" && l.fields.source_name === "other").length >=
        2,
      5000,
    );
    assert.equal(alerts.length, 1);
  });

  test("the allowed LDAP client gets through as an allowed flow naming the allowing policy", async () => {
    const before = alerts.length;
    assert.equal(
      await topo.probe({ from: "client", to: "server", protocol: "TCP", port: 389 }),
      true,
    );
    const allowed = () =>
      logs.find(
        (l) =>
          l.fields.action === "allow" &&
          l.fields.source_name === "client" &&
          l.fields.dest_name === "server" &&
          l.fields.reporter === "dst",
      );
    await until("the allowed record", () => allowed() !== undefined, 5000);
    const a = allowed()!;
    assert.deepEqual(
      [a.fields.tier, a.fields.policy, a.fields.rule, a.fields.reporter, a.connections],
      ["security", "blue-ldap", "0", "dst", 1],
    );
    assert.equal(alerts.length, before, "an allowed flow raises nothing");
  });

  test("a staged deny policy shows would-deny flows while traffic still flows", async () => {
    assert.equal(
      await topo.probe({ from: "client", to: "server", protocol: "TCP", port: 389 }),
      true,
    );
    const a = logs.find((l) => l.fields.action === "allow" && l.fields.dest_name === "server")!;
    assert.deepEqual(a.staged, { action: "deny", policies: ["lock-ldap"] });
    assert.ok((pipeline.stats().wouldDeny["lock-ldap"] ?? 0) >= 1);
  });

  test("against a Kubernetes default-deny, the record names the isolating policy", async () => {
    assert.equal(
      await topo.probe({ from: "client", to: "pg", protocol: "TCP", port: 5432 }),
      false,
    );
    // The client's egress (no policy selects it) logs what it allows: the pg end's record is
    // the one that judged the attempt, whichever of the two the pipeline delivers first.
    const isolation = () =>
      logs.find((l) => l.fields.dest_name === "pg" && l.fields.reporter === "dst");
    await until("the isolation record", () => isolation() !== undefined, 5000);
    const r = isolation()!;
    assert.equal(r.fields.action, "deny");
    assert.equal(r.fields.policy, "prod/default-deny");
    assert.match(
      r.reason,
      /^isolated by prod\/default-deny \(ingress, tier default\), no rule allowed 198\.18\.\d+\.\d+:5432\/TCP$/,
    );
  });

  test("a connection's end adds the packets and bytes conntrack counted to its allowed record", async () => {
    assert.equal(capture.health().ulogd.conntrack, true);
    const conn = await topo.open("client", "server", 389);
    assert.ok(conn);
    for (const data of ["a".repeat(1000), "b".repeat(2000)]) assert.ok(await conn.send(data));
    const conntrack = (...args: string[]) =>
      execFileSync("ip", ["netns", "exec", topo.node, "conntrack", ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    const tuple = ["-p", "tcp", "-s", topo.pod("client").ip, "-d", topo.pod("server").ip];
    const entry = conntrack("-L", ...tuple, "--dport", "389", "--state", "ESTABLISHED");
    const counters = [...entry.matchAll(/packets=(\d+) bytes=(\d+)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    assert.equal(counters.length, 2, `both directions counted: ${entry}`);
    const sport = entry.match(/sport=(\d+)/)![1]!;
    const [packets, bytes] = [
      counters[0]![0]! + counters[1]![0]!,
      counters[0]![1]! + counters[1]![1]!,
    ];
    assert.ok(bytes > 3000, `the data is counted: ${bytes} bytes`);
    const openers = () =>
      logs.filter((l) => l.fields.action === "allow" && l.fields.source_port === sport);
    // The client's egress (no policy selects it: N) and the server's ingress (blue-ldap: A).
    await until(
      "the connection's first packet, logged at both ends",
      () => openers().length >= 2,
      5000,
    );
    assert.deepEqual(
      openers()
        .map((l) => l.fields.policy)
        .sort(),
      ["", "blue-ldap"],
    );
    pipeline.flush(Number.POSITIVE_INFINITY);
    // The connection ends as when its endpoint leaves (the agent's conntrack hygiene).
    conntrack("-D", ...tuple, "--sport", sport, "--dport", "389");
    await until("the connection's end", () => pipeline.stats().connections.attributed >= 1, 10_000);
    const records: FlowRecord[] = pipeline.flush(Number.POSITIVE_INFINITY);
    const r = records.filter(
      (x) => x.fields.source_name === "client" && x.fields.dest_name === "server",
    );
    assert.deepEqual(
      r.map((x) => [x.fields.reporter, x.fields.policy, x.packets, x.bytes, x.connections]).sort(),
      [
        ["dst", "blue-ldap", packets - 1, bytes - openers()[0]!.bytes, 0],
        ["src", "", packets - 1, bytes - openers()[0]!.bytes, 0],
      ],
    );
  });

  test("a connection no policy selects at the client's end is an allowed flow saying so", () => {
    const n = logs.find(
      (l) =>
        l.fields.action === "allow" &&
        l.fields.source_name === "client" &&
        l.fields.reporter === "src",
    );
    assert.ok(n, "the client's egress, selected by no policy, logs what it allows");
    assert.deepEqual([n.fields.policy, n.fields.tier, n.connections], ["", "", 1]);
    assert.equal(
      n.reason,
      "no policy selects blue/client (egress): not isolated, allowed by default",
    );
  });

  test("ulogd2 killed mid-run is restarted; records after the restart arrive", async () => {
    const pid = capture.health().ulogd.pid!;
    process.kill(pid, "SIGKILL");
    await until(
      "the restart",
      () => capture.health().ulogd.restarts === 1 && capture.health().ulogd.state === "running",
      10_000,
    );
    assert.notEqual(capture.health().ulogd.pid, pid);
    assert.equal(capture.health().ulogd.lastExit?.signal, "SIGKILL");
    const n = logs.length;
    assert.equal(
      await topo.probe({ from: "client", to: "pg", protocol: "TCP", port: 5432 }),
      false,
    );
    await until("a record after the restart", () => logs.length > n, 5000);
  });

  test("the output is rotated and the reader follows the new file", async () => {
    assert.ok(capture.supervisor.rotate());
    await until(
      "the rotation",
      () => capture.health().rotations === 1 || capture.supervisor.outputBytes() === 0,
      5000,
    );
    const n = logs.length;
    assert.equal(
      await topo.probe({ from: "other", to: "server", protocol: "TCP", port: 389 }),
      false,
    );
    await until("a record in the new file", () => logs.length > n, 5000);
    assert.equal(capture.health().rotations, 1);
    assert.equal(capture.health().badRecords, 0);
  });
});
