// Host endpoint stages in the kernel, with real packets: a node netns whose host endpoint
// (interfaceName "*") faces two outside peers on their own interfaces, and a workload behind
// it. doNotTrack policy decides before conntrack and leaves no conntrack entry; preDNAT policy
// judges the address and port a packet had before the node's DNAT; applyOnForward policy
// judges traffic forwarded through the host endpoint, and a policy without it leaves forwarded
// traffic to workload policy. An untracked Allow never opens a workload its own policy closes.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { explainFlow } from "../../src/analysis/explain.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { buildWorld, type World } from "../../src/policy/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { edgePolicy } from "../policy/host-stage-fixtures.ts";
import {
  type AgentProcess,
  conntrackList,
  NODE,
  namespace,
  nodeListeners,
  podResource,
  startTopologyAgent,
  until,
  writeManifests,
} from "./kernel-fixtures.ts";
import { TestTopology } from "./netns-topology.ts";

const NODE_ADDRESS = "198.19.0.1";
/** The node's IPv6 address (on its lo), the host endpoint's second expected IP. */
const NODE_ADDRESS6 = "fd00:19::1";
const A = "198.18.1.1/32"; // outside peer exta
const B = "198.18.1.2/32"; // outside peer extb
const A6 = "fd00:18:1::1/128";
const B6 = "fd00:18:1::2/128";
/** The agent's default inbound failsafe port (ssh). */
const FAILSAFE_PORT = 22;
/** The node's DNAT: its own address, port 9090, to the workload's port 80. */
const DNAT_PORT = 9090;

type Side = { readonly nets?: readonly string[] } & Record<string, unknown>;

/** TCP rules, one per family where `nets` name both (a Calico rule holds one family). */
const tcp = (action: string, source: Side, destination: Side) => {
  if (!source.nets && !destination.nets) return [{ action, protocol: "TCP", source, destination }];
  const only = (side: Side, v6: boolean) =>
    side.nets ? { ...side, nets: side.nets.filter((n) => n.includes(":") === v6) } : side;
  return [false, true].flatMap((v6) => {
    const [src, dst] = [only(source, v6), only(destination, v6)];
    if (src.nets?.length === 0 || dst.nets?.length === 0) return [];
    return [{ action, protocol: "TCP", source: src, destination: dst }];
  });
};

const manifests = (web: Resource, replies = true): Resource[] => [
  namespace,
  web,
  // The workload admits TCP 80 and 81 from outside, nothing else.
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      selector: "app == 'web'",
      types: ["Ingress", "Egress"],
      ingress: [
        ...tcp("Allow", { nets: ["198.18.1.0/24", "fd00:18:1::/64"] }, { ports: [80, 81] }),
      ],
      egress: [{ action: "Allow" }],
    },
  }),
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "HostEndpoint",
    metadata: { name: `${NODE}-all`, labels: { role: "edge" } },
    spec: { node: NODE, interfaceName: "*", expectedIPs: [NODE_ADDRESS, NODE_ADDRESS6] },
  }),
  // Normal policy (applyOnForward false): the host itself takes 8081 from A, nothing else.
  edgePolicy("lock", {
    order: 10,
    types: ["Ingress", "Egress"],
    ingress: [...tcp("Allow", { nets: [A, A6] }, { ports: [8081] }), { action: "Deny" }],
    egress: [{ action: "Deny" }],
  }),
  // Untracked: A may reach 8080 (and the replies go back by their own rule), B may not.
  edgePolicy("untracked", {
    doNotTrack: true,
    applyOnForward: true,
    ingress: [
      ...tcp("Allow", { nets: [A, A6] }, { ports: [8080] }),
      ...tcp("Deny", { nets: [B, B6] }, { ports: [8080, FAILSAFE_PORT] }),
    ],
    ...(replies ? { egress: tcp("Allow", { ports: [8080] }, { nets: [A, A6] }) } : {}),
  }),
  // Pre-DNAT: only A may use the node's DNAT port; the rule names the pre-DNAT address.
  edgePolicy("pre", {
    preDNAT: true,
    applyOnForward: true,
    ingress: [
      ...tcp(
        "Allow",
        { nets: [A, A6] },
        { nets: [`${NODE_ADDRESS}/32`, `${NODE_ADDRESS6}/128`], ports: [DNAT_PORT] },
      ),
      ...tcp("Deny", {}, { ports: [DNAT_PORT] }),
    ],
  }),
  // Forwarded traffic: B may not reach port 81 behind the node, the workload may not reach B:80.
  edgePolicy("fwd", {
    order: 20,
    applyOnForward: true,
    types: ["Ingress", "Egress"],
    ingress: [...tcp("Deny", { nets: [B, B6] }, { ports: [81] }), { action: "Allow" }],
    egress: [...tcp("Deny", {}, { nets: [B, B6], ports: [80] }), { action: "Allow" }],
  }),
];

describe("host endpoint stages with real packets", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let dir: string;
  let listeners: ChildProcess | undefined;
  let agent: AgentProcess | undefined;
  let file: string;
  let world: World;
  let webPod: Resource;

  before(async () => {
    topo = await TestTopology.create(["web"], { tcp: [80, 81, 8080], udp: [] }, {}, "msxhep", [
      "exta",
      "extb",
    ]);
    dir = mkdtempSync(join(tmpdir(), "msx-hoststages-"));
    execFileSync("ip", [
      "netns",
      "exec",
      topo.node,
      "ip",
      "addr",
      "add",
      `${NODE_ADDRESS6}/128`,
      "dev",
      "lo",
    ]);
    listeners = nodeListeners(topo.node, [FAILSAFE_PORT, 8080, 8081], "::");
    const { ip: web, ip6: web6 } = topo.pod("web");
    execFileSync("ip", ["netns", "exec", topo.node, "nft", "-f", "-"], {
      input: `table ip msxtest-dnat {
  chain pre { type nat hook prerouting priority -100; ip daddr ${NODE_ADDRESS} tcp dport ${DNAT_PORT} dnat to ${web}:80; }
}
table ip6 msxtest-dnat6 {
  chain pre { type nat hook prerouting priority -100; ip6 daddr ${NODE_ADDRESS6} tcp dport ${DNAT_PORT} dnat to [${web6}]:80; }
}\n`,
    });
    file = join(dir, "cluster.yaml");
    webPod = podResource("web", topo.pod("web"), { app: "web" });
    writeManifests(file, manifests(webPod));
    world = buildWorld(manifests(webPod));
    agent = startTopologyAgent(topo.node, file, dir);
    await until("ready", () => existsSync(join(dir, "ready")));
  });
  after(() => {
    agent?.child.kill("SIGKILL");
    listeners?.kill("SIGKILL");
    topo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A real connection attempt, checked against the offline verdict for the same flow (explain
   * has no DNAT: it judges the flow as addressed, which is what the pre-DNAT stage sees).
   */
  const reach = async (from: string, to: string, port: number) => {
    const got = await topo.probe({ from, to, protocol: "TCP", port, timeoutMs: 400 });
    const name = (peer: string) =>
      peer === NODE_ADDRESS ? peer : peer === "web" ? "shop/web" : topo.pod(peer).ip;
    const offline = explainFlow(world, { from: name(from), to: name(to), port, protocol: "TCP" });
    assert.equal(got, offline.allowed, `kernel and explain agree: ${from} -> ${to}:${port}`);
    return got;
  };
  /** The same over IPv6: `to` is the node (its IPv6 address) or a pod, judged by address. */
  const reach6 = async (from: string, to: string, port: number) => {
    const got = await topo.probe({
      from,
      to: to === "node" ? NODE_ADDRESS6 : to,
      family: 6,
      protocol: "TCP",
      port,
      timeoutMs: 400,
    });
    const name = (peer: string) => (peer === "node" ? NODE_ADDRESS6 : topo.pod(peer).ip6);
    const offline = explainFlow(world, { from: name(from), to: name(to), port, protocol: "TCP" });
    assert.equal(got, offline.allowed, `kernel and explain agree: ${from} -> ${to}:${port} (v6)`);
    return got;
  };
  /** Conntrack entries in the node for TCP to `port` from `source` (either family). */
  const tracked = (source: string, port: number): number =>
    conntrackList(topo.node, "-f", source.includes(":") ? "ipv6" : "ipv4", "-p", "tcp")
      .split("\n")
      .filter((l) => l.includes(`src=${source} `) && l.includes(` dport=${port} `)).length;

  test("doNotTrack: decided before conntrack, allowed packets leave no conntrack entry", async () => {
    // The node's listeners start asynchronously: bounded wait for the tracked port to answer.
    for (let i = 0; i < 50 && !(await reach("exta", NODE_ADDRESS, 8081)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await reach("exta", NODE_ADDRESS, 8081), true, "normal policy allows A:8081");
    assert.ok(tracked("198.18.1.1", 8081) > 0, "a normal connection is tracked");
    assert.equal(await reach("exta", NODE_ADDRESS, 8080), true, "untracked Allow, reply rule");
    assert.equal(tracked("198.18.1.1", 8080), 0, "no conntrack entry for untracked traffic");
    assert.equal(await reach("extb", NODE_ADDRESS, 8080), false, "untracked Deny");
    assert.equal(await reach("extb", NODE_ADDRESS, 8081), false, "normal policy denies B");
    // Failsafe ports stay open whatever untracked policy says (explain does not model them).
    const ssh = { from: "extb", to: NODE_ADDRESS, protocol: "TCP" as const, port: FAILSAFE_PORT };
    assert.equal(await topo.probe(ssh), true, "an untracked Deny does not close a failsafe port");
  });

  test("an untracked Allow opens no workload its own ingress closes", async () => {
    // A's untracked Allow names port 8080 to any destination; the workload admits 80/81 only.
    assert.equal(await reach("exta", "web", 8080), false);
    assert.equal(await reach("exta", "web", 80), true);
  });

  test("preDNAT: judged on the address and port before DNAT", async () => {
    assert.equal(await reach("exta", NODE_ADDRESS, DNAT_PORT), true, "A through the DNAT");
    // B is admitted to port 80 after DNAT by the workload and by forward policy: only the
    // pre-DNAT port can deny it. No pre-DNAT rule matching (B straight to 80) is no drop.
    assert.equal(await reach("extb", NODE_ADDRESS, DNAT_PORT), false, "B through the DNAT");
    assert.equal(await reach("extb", "web", 80), true, "B to the workload directly");
  });

  test("applyOnForward: forwarded traffic meets it both ways; a policy without it does not apply", async () => {
    assert.equal(await reach("extb", "web", 81), false, "forward ingress Deny");
    assert.equal(await reach("web", "extb", 80), false, "forward egress Deny");
    assert.equal(await reach("web", "exta", 80), true, "forward egress Allow");
    // lock (applyOnForward false) ends in Deny: B to the workload above shows it is skipped.
    assert.equal(await reach("extb", "web", 80), true);
  });

  test("IPv6 doNotTrack: decided before conntrack, no entry; a failsafe port stays open", async () => {
    assert.equal(await reach6("exta", "node", 8081), true, "normal policy allows A:8081");
    assert.ok(tracked("fd00:18:1::1", 8081) > 0, "a normal connection is tracked");
    assert.equal(await reach6("exta", "node", 8080), true, "untracked Allow, reply rule");
    assert.equal(tracked("fd00:18:1::1", 8080), 0, "no conntrack entry for untracked traffic");
    assert.equal(await reach6("extb", "node", 8080), false, "untracked Deny");
    assert.equal(await reach6("extb", "node", 8081), false, "normal policy denies B");
    const ssh = { from: "extb", to: NODE_ADDRESS6, family: 6 as const, protocol: "TCP" as const };
    assert.equal(await topo.probe({ ...ssh, port: FAILSAFE_PORT }), true, "failsafe open");
    assert.equal(await reach6("exta", "web", 8080), false, "no workload opened by it");
    assert.equal(await reach6("exta", "web", 80), true);
  });

  test("IPv6 preDNAT: judged on the address and port before DNAT", async () => {
    const dnat = (from: string) =>
      topo.probe({ from, to: NODE_ADDRESS6, family: 6, protocol: "TCP", port: DNAT_PORT });
    assert.equal(await dnat("exta"), true, "A through the DNAT");
    assert.equal(await dnat("extb"), false, "B through the DNAT");
    assert.equal(await reach6("extb", "web", 80), true, "B to the workload directly");
  });

  test("IPv6 applyOnForward: forwarded traffic meets it both ways", async () => {
    assert.equal(await reach6("extb", "web", 81), false, "forward ingress Deny");
    assert.equal(await reach6("web", "extb", 80), false, "forward egress Deny");
    assert.equal(await reach6("web", "exta", 80), true, "forward egress Allow");
    assert.equal(await reach6("extb", "web", 80), true, "lock (no applyOnForward) skipped");
  });

  test("doNotTrack is stateless: without its own egress rule the reply is dropped", async () => {
    writeManifests(file, manifests(webPod, false));
    // The agent polls its file: bounded wait (count and time) for the change to take effect.
    let open = true;
    const deadline = Date.now() + 15_000;
    for (let i = 0; i < 150 && open && Date.now() < deadline; i++) {
      open = await topo.probe({ from: "exta", to: NODE_ADDRESS, protocol: "TCP", port: 8080 });
      if (open) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(open, false, "A to 8080 with no untracked rule for the reply");
    assert.equal(await reach("exta", NODE_ADDRESS, 8081), true, "tracked traffic still flows");
    // Explain does not model statelessness (the reply rule is the world's): the kernel alone.
    const v6 = { from: "exta", to: NODE_ADDRESS6, family: 6 as const, protocol: "TCP" as const };
    assert.equal(await topo.probe({ ...v6, port: 8080 }), false, "the same over IPv6");
    assert.equal(await reach6("exta", "node", 8081), true);
  });
});
