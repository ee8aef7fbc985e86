// A HostEndpoint found by its expectedIPs (no interfaceName), in the kernel, written through the
// API server into a real SQLite store one object at a time: its stage policies (doNotTrack,
// preDNAT) are enforced on the node interface that holds its address, and move with the
// address; its normal policy is enforced on traffic to the address; while no interface holds
// the address the stages judge packets to the address itself, so they are live from the moment
// the address appears. A workload on the node cannot reach what the host endpoint's policy
// denies. The agent runs in this process on the node's namespace (libnftables, conntrack and
// `ip` entering it), as the lab's agents do with `--netns`.
//
// The outside peers exta and extb reach the node through ext0 and ext1 (both route to the node
// by its link address); the host endpoint's address 198.19.5.1 sits on ext0, then ext1.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { IpHostInterfaces } from "../../src/agent/host-interfaces.ts";
import { Agent, jsonLogger } from "../../src/agent/index.ts";
import { ApiClient, ApiError } from "../../src/client/index.ts";
import { KernelConntrack } from "../../src/dataplane/conntrack.ts";
import { DEFAULT_ENFORCEMENT, type EnforcementConfig } from "../../src/dataplane/nftables/index.ts";
import { type Datastore, DatastoreSource, openDatastore } from "../../src/datastore/index.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { type RunningServer, startServer } from "../../src/server/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { denyTcp, edgePolicy, webPolicy } from "../policy/host-stage-fixtures.ts";
import { NODE, namespace, nodeListeners, podResource } from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const HEP_ADDRESS = "198.19.5.1";
const UNTRACKED_PORT = 8080;
const NORMAL_PORT = 8081;
const PREDNAT_PORT = 8082;
const OPEN_PORT = 8083;

/** The objects, in the order they are written, each alone. */
const objects = (web: Resource): Resource[] => [
  namespace,
  web,
  webPolicy({ types: ["Egress"], egress: [{ action: "Allow" }] }),
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "HostEndpoint",
    metadata: { name: `${NODE}-uplink`, labels: { role: "edge" } },
    spec: { node: NODE, expectedIPs: [HEP_ADDRESS] },
  }),
  edgePolicy("untracked", {
    doNotTrack: true,
    applyOnForward: true,
    ingress: [denyTcp(UNTRACKED_PORT)],
  }),
  edgePolicy("pre", { preDNAT: true, applyOnForward: true, ingress: [denyTcp(PREDNAT_PORT)] }),
  edgePolicy("normal", {
    types: ["Ingress", "Egress"],
    ingress: [denyTcp(NORMAL_PORT), { action: "Allow" }],
    egress: [{ action: "Allow" }],
  }),
];

const enforcement: EnforcementConfig = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
  // A workload's traffic to the node meets the host endpoint's ingress policy.
  endpointToHostAction: "Return",
};

async function waitFor(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a host endpoint found by its expectedIPs", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let dir: string;
  let listeners: ChildProcess | undefined;
  let store: Datastore | undefined;
  let server: RunningServer | undefined;
  let agent: Agent | undefined;
  let client: ApiClient;

  before(async () => {
    topo = await TestTopology.create(["web"], { tcp: [80], udp: [] }, {}, "msxhx", [
      "exta",
      "extb",
    ]);
    dir = mkdtempSync(join(tmpdir(), "msx-hep-expected-"));
    listeners = nodeListeners(topo.node, [UNTRACKED_PORT, NORMAL_PORT, PREDNAT_PORT, OPEN_PORT]);
    store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
    server = await startServer({ store, port: 0 });
    client = new ApiClient({ server: server.url });
    agent = new Agent({
      node: NODE,
      source: new DatastoreSource(client.forNode(NODE)),
      nft: new KernelNftables({ netns: topo.node }),
      conntrack: new KernelConntrack({ netns: topo.node }),
      hostInterfaces: new IpHostInterfaces({
        netns: topo.node,
        workloadInterfaces: enforcement.workloadInterfaces,
      }),
      enforcement,
      log: jsonLogger({ level: "warn" }),
      resyncIntervalMs: 0,
    });
    await agent.start();
    for (const r of objects(podResource("web", topo.pod("web"), { app: "web" })))
      await client.create(r);
    await waitFor("the agent at the store's revision", async () => {
      const revision = (await client.snapshot()).revision;
      return agent!.status().revision >= revision;
    });
  });
  after(async () => {
    await agent?.stop();
    listeners?.kill("SIGKILL");
    topo?.remove();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const reach = (from: string, port: number) =>
    topo.probe({ from, to: HEP_ADDRESS, protocol: "TCP", port, timeoutMs: 1000 });
  const ext = (i: number) => topo.pod(i === 0 ? "exta" : "extb").iface;
  const inNode = (...args: string[]) =>
    execFileSync("ip", ["netns", "exec", topo.node, ...args], { encoding: "utf8" });
  /** The untracked dispatch chain jumps to the host endpoint's chain through this interface. */
  const boundTo = (iface: string) =>
    new RegExp(`iifname "${iface}" counter packets \\d+ bytes \\d+ jump hs-`).test(
      inNode("nft", "list", "chain", "inet", enforcement.table, "hep-untracked-in"),
    );
  const byAddress = () =>
    /ip daddr 198\.19\.5\.1(-198\.19\.5\.1)? counter packets \d+ bytes \d+ jump hs-/.test(
      inNode("nft", "list", "chain", "inet", enforcement.table, "hep-untracked-in"),
    );

  /** Which of the four ports each peer reaches, as `port:yes|no`. */
  async function reached(from: string): Promise<string> {
    const ports = [UNTRACKED_PORT, NORMAL_PORT, PREDNAT_PORT, OPEN_PORT];
    const out: string[] = [];
    for (const p of ports) out.push(`${p}:${(await reach(from, p)) ? "yes" : "no"}`);
    return out.join(" ");
  }

  test("no interface holds the address: bound to it, live the moment it appears", async () => {
    assert.ok(byAddress(), "stages bound to the address while no interface holds it");
    inNode("ip", "addr", "add", `${HEP_ADDRESS}/32`, "dev", ext(0));
    // No wait for the agent: the address-bound stages judge the first packets already.
    assert.equal(await reach("exta", UNTRACKED_PORT), false, "untracked Deny at once");
    assert.equal(await reach("exta", PREDNAT_PORT), false, "pre-DNAT Deny at once");
    await waitFor(`binding to ${ext(0)}`, () => boundTo(ext(0)));
    assert.ok(!byAddress(), "the address binding is gone once the interface is bound");
  });

  test("stage policy on the interface holding the address, normal policy on the address", async () => {
    // exta enters through ext0 (the host endpoint's interface), extb through ext1 (none).
    const a = `${UNTRACKED_PORT}:no ${NORMAL_PORT}:no ${PREDNAT_PORT}:no ${OPEN_PORT}:yes`;
    const b = `${UNTRACKED_PORT}:yes ${NORMAL_PORT}:no ${PREDNAT_PORT}:yes ${OPEN_PORT}:yes`;
    assert.equal(await reached("exta"), a);
    assert.equal(await reached("extb"), b);
  });

  test("moving the address to another interface moves the stages' enforcement", async () => {
    inNode("ip", "addr", "del", `${HEP_ADDRESS}/32`, "dev", ext(0));
    inNode("ip", "addr", "add", `${HEP_ADDRESS}/32`, "dev", ext(1));
    await waitFor(`binding to ${ext(1)}`, () => boundTo(ext(1)) && !boundTo(ext(0)));
    const a = `${UNTRACKED_PORT}:yes ${NORMAL_PORT}:no ${PREDNAT_PORT}:yes ${OPEN_PORT}:yes`;
    const b = `${UNTRACKED_PORT}:no ${NORMAL_PORT}:no ${PREDNAT_PORT}:no ${OPEN_PORT}:yes`;
    assert.equal(await reached("exta"), a);
    assert.equal(await reached("extb"), b);
  });

  test("a workload on the node cannot reach what the host endpoint's policy denies", async () => {
    // Its traffic to the node meets its egress, then the host endpoint's normal ingress.
    assert.equal(await reach("web", NORMAL_PORT), false, "normal Deny holds for a workload");
    assert.equal(await reach("web", OPEN_PORT), true, "what the policy allows stays open");
    // Stage policy never judges a workload's packets, and never opens a way past normal policy:
    // the untracked stage denies only on the host endpoint's interface; the normal policy allows.
    assert.equal(await reach("web", UNTRACKED_PORT), true);
  });

  test("through the API, a host endpoint with neither field is refused on spec.expectedIPs", async () => {
    const before = (await client.snapshot()).revision;
    const bare = validResource({
      apiVersion: "microseg.io/v1",
      kind: "HostEndpoint",
      metadata: { name: `${NODE}-bare` },
      spec: { node: NODE, expectedIPs: [HEP_ADDRESS] },
    });
    const { expectedIPs: _, ...spec } = (bare as Resource & { kind: "HostEndpoint" }).spec;
    const error = await client.create({ ...bare, spec } as Resource).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 422);
    assert.ok(
      error.causes.some((c) => c.field === "spec.expectedIPs"),
      JSON.stringify(error.causes),
    );
    assert.equal((await client.snapshot()).revision, before, "nothing changed");
  });
});
