// Conntrack hygiene across an agent's restart, in a node netns this test creates. An agent
// dies (nothing of it runs any more, its table stays in the kernel); while it is away, a pod
// goes and another takes its address (and, as a CNI reusing it would, its interface), or a pod
// goes and nobody takes its address. The next agent knows nothing of the endpoints the dead one
// rendered, but the table it keeps does: the old owner's established connections must be cut
// all the same, as a running agent cuts them (kernel-hostile.test.ts), and nothing else.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Enforcer } from "../../src/agent/index.ts";
import { KernelConntrack } from "../../src/dataplane/conntrack.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import type { Resource } from "../../src/model/index.ts";
import { KernelNftables } from "../../src/nft/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import {
  addressTaker,
  assertTakerJudgedAsItself,
  NODE,
  namespace,
  podResource,
  webToDb,
} from "./kernel-fixtures.ts";
import { POD_IFACE_PREFIX, TestTopology, WORKLOAD_IFACES } from "./netns-topology.ts";

const DB = 5432;
const cfg = {
  ...DEFAULT_ENFORCEMENT,
  workloadInterfaces: [WORKLOAD_IFACES],
  podInterfacePrefix: POD_IFACE_PREFIX,
};

const dbFromWeb: Resource = webToDb("db-from-web", [{ port: DB }]);

const upsert = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });

describe("an agent restarted after addresses changed hands", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  const pod = (name: string) => topo.pod(name);
  /** A new agent process's enforcer: nothing carried over but the kernel's state. */
  const agent = () =>
    new Enforcer({
      node: NODE,
      nft: new KernelNftables({ netns: topo.node }),
      conntrack: new KernelConntrack({ netns: topo.node }),
      enforcement: cfg,
    });
  /** The first sync of an agent that starts now, as the agent runs it. */
  const restart = async (resources: Resource[]) => {
    const enforcer = agent();
    assert.equal(await enforcer.bootstrap(), "kept");
    return enforcer.enforce(resources.map(upsert));
  };
  const web = () => podResource("web", pod("web"), { app: "web" });
  const client = () => podResource("client", pod("client"), { app: "web" });
  const others = () => [
    namespace,
    podResource("db", pod("db"), { app: "db" }),
    podResource("open", pod("open"), { app: "open" }),
    dbFromWeb,
  ];

  before(async () => {
    topo = await TestTopology.create(["web", "client", "db", "open"], { tcp: [DB], udp: [] });
    const first = agent();
    assert.equal(await first.bootstrap(), "installed");
    await first.enforce([...others(), web(), client()].map(upsert));
  });
  after(() => topo?.remove());

  test("a restart with nothing changed cuts nothing", async () => {
    const conn = await topo.open("web", "db", DB);
    assert.ok(conn && (await conn.send("before")), "web -> db established");
    const result = await restart([...others(), web(), client()]);
    assert.equal(result.forgotten, 0);
    assert.ok(await conn.send("after"), "the connection carries on");
  });

  test("an address another pod took while the agent was away carries none of the old pod's connections", async () => {
    const conn = await topo.open("web", "db", DB);
    const kept = await topo.open("client", "db", DB);
    assert.ok(conn && (await conn.send("before")), "web -> db established");
    assert.ok(kept && (await kept.send("before")), "client -> db established");
    // Meanwhile web went, and a pod db does not admit got its address and interface.
    const newcomer = addressTaker(pod("web"));
    const result = await restart([...others(), client(), newcomer]);
    assert.equal(result.forgotten, 2, "web's two addresses were forgotten");
    assert.equal(await conn.send("after"), false, "the old owner's connection is cut");
    assert.ok(await kept.send("after"), "another pod's connection carries on");
    await assertTakerJudgedAsItself(topo, DB);
  });

  test("an address nobody holds any more after the restart keeps no connection", async () => {
    const conn = await topo.open("client", "db", DB);
    assert.ok(conn && (await conn.send("before")), "client -> db established");
    const result = await restart(others());
    assert.equal(result.forgotten, 4, "both pods' addresses (the newcomer's and client's)");
    assert.equal(await conn.send("after"), false, "client's connection is cut");
  });
});
