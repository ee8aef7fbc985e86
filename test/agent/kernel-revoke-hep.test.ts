// Revocation (`revokeDenied`) of host endpoint traffic, with real connections: an established
// connection that an edit of a host endpoint's normal policy, pre-DNAT policy or applyOnForward
// policy now denies is cut within the update; one the edit still allows carries on, and one to
// a failsafe port is never cut. An outside peer (exta, through ext0) talks to the node itself
// and, forwarded, to a workload behind it; the host endpoint is `*`. The node's own connection
// to a local workload is the workload's ingress policy's to judge.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import type { Enforcer } from "../../src/agent/index.ts";
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { denyTcp, edgePolicy, webPolicy } from "../policy/host-stage-fixtures.ts";
import { NODE, namespace, podResource, topologyEnforcer } from "./kernel-fixtures.ts";
import { TestTopology } from "./netns-topology.ts";

const NODE_ADDRESS = "198.19.0.1";
const FAILSAFE_PORT = 22;
const HOST_PORT = 8081;
const OTHER_HOST_PORT = 8083;
const WEB_PORT = 80;
const OTHER_WEB_PORT = 81;

const upsert = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });
const base = (web: Resource): Resource[] => [
  namespace,
  web,
  webPolicy({ ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] }),
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "HostEndpoint",
    metadata: { name: `${NODE}-all`, labels: { role: "edge" } },
    spec: { node: NODE, interfaceName: "*", expectedIPs: [NODE_ADDRESS] },
  }),
];

/** The host endpoint's normal policy: everything in and out, but for `denied` ports in. */
const normal = (...denied: number[]) =>
  edgePolicy("normal", {
    types: ["Ingress", "Egress"],
    ingress: [...denied.map(denyTcp), { action: "Allow" }],
    egress: [{ action: "Allow" }],
  });

/** Echo servers in the node itself (the pods' servers echo already). */
function nodeEchoes(netns: string, ports: number[]): ChildProcess {
  const script = `for (const p of ${JSON.stringify(ports)}) require("node:net").createServer((s) => s.pipe(s)).listen(p, "0.0.0.0");`;
  return spawn("ip", ["netns", "exec", netns, process.execPath, "-e", script], { stdio: "ignore" });
}

/** A TCP client in the node itself, kept open; send() checks that it still carries data. */
async function nodeConnection(netns: string, host: string, port: number) {
  const script = `
    const s = require("node:net").connect(${port}, ${JSON.stringify(host)}, () => console.log("connected"));
    s.on("error", () => console.log("error"));
    let want;
    s.on("data", (d) => { if (want !== undefined && String(d).includes(want)) { want = undefined; console.log("echoed"); } });
    require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
      want = line;
      s.write(line);
      setTimeout(() => { if (want === line) { want = undefined; console.log("lost"); } }, 1000);
    });`;
  const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", script], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value);
  if ((await next()) !== "connected") {
    child.kill("SIGKILL");
    return undefined;
  }
  return {
    send: async (data: string) => {
      child.stdin!.write(`${data}\n`);
      return (await next()) === "echoed";
    },
    close: () => child.kill("SIGKILL"),
  };
}

describe("revocation of host endpoint traffic", { skip: rootSkipReason() }, () => {
  let topo: TestTopology;
  let echoes: ChildProcess | undefined;
  let enforcer: Enforcer;
  let web: Resource;

  before(async () => {
    topo = await TestTopology.create(
      ["web"],
      { tcp: [WEB_PORT, OTHER_WEB_PORT], udp: [] },
      {},
      "msxrv",
      ["exta"],
    );
    echoes = nodeEchoes(topo.node, [FAILSAFE_PORT, HOST_PORT, OTHER_HOST_PORT]);
    web = podResource("web", topo.pod("web"), { app: "web" });
    enforcer = topologyEnforcer(topo.node, true);
    await enforcer.enforce([...base(web), normal()].map(upsert));
  });
  after(() => {
    echoes?.kill("SIGKILL");
    topo?.remove();
  });

  /** An established connection from exta, or a failure naming it. */
  async function established(to: string, port: number) {
    // The node's echo servers start asynchronously: bounded retries.
    for (let i = 0; i < 50; i++) {
      const c = await topo.open("exta", to, port);
      if (c && (await c.send("before"))) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`exta -> ${to}:${port} never established`);
  }

  test("a normal host endpoint policy edit cuts what it denies, never a failsafe port", async () => {
    const cut = await established(NODE_ADDRESS, HOST_PORT);
    const kept = await established(NODE_ADDRESS, OTHER_HOST_PORT);
    const ssh = await established(NODE_ADDRESS, FAILSAFE_PORT);
    const result = await enforcer.enforce([upsert(normal(HOST_PORT, FAILSAFE_PORT))]);
    assert.ok(result.revoked > 0, `${result.revoked} revoked`);
    assert.equal(await cut.send("after"), false, "the denied connection is cut");
    assert.equal(await kept.send("after"), true, "the allowed one carries on");
    assert.equal(await ssh.send("after"), true, "a failsafe port is never cut");
    await enforcer.enforce([upsert(normal())]);
  });

  test("a pre-DNAT policy edit cuts the connections it denies", async () => {
    const cut = await established(NODE_ADDRESS, HOST_PORT);
    const kept = await established(NODE_ADDRESS, OTHER_HOST_PORT);
    const pre = edgePolicy("pre", {
      preDNAT: true,
      applyOnForward: true,
      ingress: [denyTcp(HOST_PORT)],
    });
    const result = await enforcer.enforce([upsert(pre)]);
    assert.ok(result.revoked > 0, `${result.revoked} revoked`);
    assert.equal(await cut.send("after"), false, "the denied connection is cut");
    assert.equal(await kept.send("after"), true, "the allowed one carries on");
    assert.equal(
      await topo.probe({ from: "exta", to: NODE_ADDRESS, protocol: "TCP", port: HOST_PORT }),
      false,
      "and new ones are denied",
    );
  });

  test("an applyOnForward edit cuts forwarded connections it denies; workload policy allows them", async () => {
    const cut = await established("web", WEB_PORT);
    const kept = await established("web", OTHER_WEB_PORT);
    const fwd = edgePolicy("fwd", {
      applyOnForward: true,
      order: 5,
      types: ["Ingress"],
      ingress: [denyTcp(WEB_PORT), { action: "Allow" }],
    });
    const result = await enforcer.enforce([upsert(fwd)]);
    assert.ok(result.revoked > 0, `${result.revoked} revoked`);
    assert.equal(await cut.send("after"), false, "the denied forwarded connection is cut");
    assert.equal(await kept.send("after"), true, "the allowed one carries on");
  });

  test("the node's connection to a local workload is cut when the workload's ingress denies it", async () => {
    const open = async (port: number) => {
      const c = await nodeConnection(topo.node, topo.pod("web").ip, port);
      assert.ok(c && (await c.send("before")), `node -> web:${port} established`);
      return c;
    };
    const cut = await open(WEB_PORT);
    const kept = await open(OTHER_WEB_PORT);
    try {
      const closed = webPolicy({
        ingress: [denyTcp(WEB_PORT), { action: "Allow" }],
        egress: [{ action: "Allow" }],
      });
      const result = await enforcer.enforce([upsert(closed)]);
      assert.ok(result.revoked > 0, `${result.revoked} revoked`);
      assert.equal(await cut.send("after"), false, "the denied connection is cut");
      assert.equal(await kept.send("after"), true, "the allowed one carries on");
    } finally {
      cut.close();
      kept.close();
      await enforcer.enforce(base(web).map(upsert));
    }
  });
});
