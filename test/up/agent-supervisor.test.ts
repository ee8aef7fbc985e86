// up's agent supervisor over a lab double (the real lab's agents are exercised by
// test/up/etcd-nodes.test.ts, which SIGKILLs one): an exit is followed by one restart, an agent
// that keeps dying young waits twice as long each time up to the cap, a failed restart is tried
// again, and after stop nothing is restarted.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AgentExit, LabPlan } from "../../src/lab/index.ts";
import { type SupervisedLab, superviseAgents } from "../../src/up/agent-supervisor.ts";
import { until } from "./up-process.ts";

function labDouble(nodes: string[]) {
  const listeners = new Set<(e: AgentExit) => void>();
  const restarts: string[] = [];
  let failNext = 0;
  let pid = 100;
  let exists = true;
  const lab: SupervisedLab = {
    plan: { nodes: nodes.map((name) => ({ name })) } as LabPlan,
    exists: () => exists,
    onAgentExit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    restartAgent(node) {
      if (failNext > 0) {
        failNext--;
        throw new Error("no such luck");
      }
      restarts.push(node);
      return ++pid;
    },
  };
  return {
    lab,
    restarts,
    failRestarts: (n: number) => {
      failNext = n;
    },
    exit: (node: string) => {
      for (const l of listeners) l({ node, pid, code: null, signal: "SIGKILL" });
    },
    listening: () => listeners.size,
    remove: () => {
      exists = false;
    },
  };
}

test("an agent that exits is restarted once, on its own node", async () => {
  const d = labDouble(["node-1", "node-2"]);
  const said: string[] = [];
  const sup = superviseAgents(d.lab, {
    say: (l) => said.push(l),
    backoffMs: { first: 5, max: 50 },
  });
  d.exit("node-2");
  await until("the restart", () => (d.restarts.length === 1 ? true : undefined), 5_000);
  assert.deepEqual(d.restarts, ["node-2"]);
  assert.match(said[0]!, /agent on node-2 \(pid 100\) exited \(SIGKILL\); restarting in 5 ms/);
  assert.match(said[1]!, /agent on node-2 restarted \(pid 101\)/);
  sup.stop();
  assert.equal(d.listening(), 0);
});

test("an agent that keeps dying young waits twice as long each time, up to the cap", async () => {
  const d = labDouble(["node-1"]);
  const said: string[] = [];
  const sup = superviseAgents(d.lab, {
    say: (l) => said.push(l),
    backoffMs: { first: 5, max: 20 },
  });
  for (let i = 1; i <= 4; i++) {
    d.exit("node-1");
    await until(`restart ${i}`, () => (d.restarts.length === i ? true : undefined), 5_000);
  }
  const waits = said.filter((l) => l.includes("exited")).map((l) => /in (\d+) ms/.exec(l)?.[1]);
  assert.deepEqual(waits, ["5", "10", "20", "20"]);
  sup.stop();
});

test("a restart that fails is tried again", async () => {
  const d = labDouble(["node-1"]);
  const said: string[] = [];
  const sup = superviseAgents(d.lab, {
    say: (l) => said.push(l),
    backoffMs: { first: 5, max: 20 },
  });
  d.failRestarts(2);
  d.exit("node-1");
  await until("the restart", () => (d.restarts.length === 1 ? true : undefined), 5_000);
  assert.equal(said.filter((l) => l.includes("could not be restarted: no such luck")).length, 2);
  sup.stop();
});

test("after stop, an exit waiting for its restart is not restarted", () => {
  const d = labDouble(["node-1"]);
  const sup = superviseAgents(d.lab, { say: () => {}, backoffMs: { first: 60_000, max: 60_000 } });
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const idle = timers();
  d.exit("node-1");
  assert.equal(timers(), idle + 1, "the restart waits on a timer");
  sup.stop();
  assert.equal(timers(), idle, "stop cleared it");
  d.exit("node-1");
  assert.equal(timers(), idle, "and no longer listens");
  assert.deepEqual(d.restarts, []);
  assert.equal(d.listening(), 0);
});

test("an agent of a lab brought down elsewhere is not restarted", () => {
  const d = labDouble(["node-1"]);
  const said: string[] = [];
  const sup = superviseAgents(d.lab, { say: (l) => said.push(l), backoffMs: { first: 5, max: 5 } });
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const idle = timers();
  d.remove();
  d.exit("node-1");
  assert.equal(timers(), idle, "no restart waits");
  assert.match(said[0]!, /agent on node-1 exited and the lab is gone; not restarting it/);
  sup.stop();
});
