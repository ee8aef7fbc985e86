// Many nodes on etcd, as a user runs it (root): `microseg up --datastore etcd://... --nodes 3`
// on an etcd the test starts (test/etcd-server.ts), the examples applied through the API, and
// the three nodes' agents (each following the API server, which follows etcd) enforcing them:
// real packets between the lab's pods equal `microseg matrix` over the live store. Then one
// agent's node is relabelled through the API and the kernel follows on every node.
//
// Then the faults, each with SIGKILL on a real process: one node's agent (up restarts it), the
// API server (up restarts it), etcd (the test restarts it on the same data directory). TCP
// connections between pods that policy allows, on one node and across nodes, are opened before
// the first fault and carry data during and after every step. During each outage every probe
// still equals the last good matrix (denied pairs stay denied, allowed ones open); after it,
// once every agent reports the store's revision, the probes equal `microseg matrix` over the
// live store, and a change written after the API server or etcd came back is enforced. To hold
// an outage open while it is probed, the test freezes `microseg up` (SIGSTOP) before killing
// one of its children, so up's supervisor restarts it only when thawed (SIGCONT).
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { openDatastore, type WriteInput } from "../../src/datastore/index.ts";
import { downLab, LabFiles, type LabPlan } from "../../src/lab/index.ts";
import { type EtcdServer, etcdInstalled, startEtcd } from "../etcd-server.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { type HeldConnection, holdConnection } from "./held-connections.ts";
import { type Cell, cellKey, cli, root, startUp, type UpProcess, until } from "./up-process.ts";

const skip =
  rootSkipReason() ?? (etcdInstalled() ? false : "etcd-server is not installed (ensure-deps)");
const execFileAsync = promisify(execFile);

const PORTS = "389/TCP,8080/TCP";
/** The pod whose label the steps change; no held connection touches it. */
const RELABELLED = "directory/blue-web-0";
const LDAP = `${RELABELLED} -> directory/ldap-server-0 389/TCP`;

interface AgentReport {
  node: string;
  revision: number;
  startedAt?: string;
  fullSyncs: number;
  flows?: { enabled: boolean; ulogd?: { state: string } };
}

/** True once `pid` has exited: gone, or a zombie its (frozen) parent has not reaped yet. */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
  } catch {
    return true;
  }
}

describe("three nodes on etcd, end to end and through faults", { skip, timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "microseg-etcd-nodes-"));
  const port = 19_000 + Math.floor(Math.random() * 2_000);
  const server = `http://127.0.0.1:${port}`;
  let etcd: EtcdServer | undefined;
  let up: UpProcess | undefined;
  const held: HeldConnection[] = [];
  /** The matrix as last proven in the kernel: what every outage must keep. */
  let lastGood = new Map<string, boolean>();
  let frozen = false;
  let exchanges = 0;

  const run = (...args: string[]) =>
    execFileSync(process.execPath, [cli, ...args, "--server", server], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  const labDir = () => join(dir, "lab", up!.labId);
  const plan = (): LabPlan => JSON.parse(readFileSync(join(labDir(), "state.json"), "utf8")).plan;
  const probe = async (ports: string): Promise<Cell[]> => {
    const args = ["lab", "probe", "--state-dir", join(dir, "lab"), "--ports", ports, "-o", "json"];
    const { stdout } = await execFileAsync(process.execPath, [cli, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout).results;
  };
  const matrix = (ports: string): Cell[] =>
    JSON.parse(run("matrix", "--ports", ports, "-o", "json")).results;
  const storeRevision = async () =>
    Number(
      (
        (await (await fetch(`${server}/api/v1/namespaces?limit=1`)).json()) as {
          metadata: { resourceVersion: string };
        }
      ).metadata.resourceVersion,
    );
  const agents = async (): Promise<AgentReport[]> =>
    ((await (await fetch(`${server}/api/v1/agents`)).json()) as { items: AgentReport[] }).items;
  const byNode = (reports: AgentReport[]) => new Map(reports.map((a) => [a.node, a]));
  /**
   * Every pod placed and each of the three nodes' agents at the store's revision; `restarted`
   * names a node whose agent must be a new one (another start time than `was`).
   */
  const enforced = async (restarted?: { node: string; was: string | undefined }) => {
    let waiting = "";
    const check = async () => {
      try {
        const pods = JSON.parse(run("get", "pods", "-A", "-o", "json")).items as {
          spec?: { nodeName?: string };
          status?: { podIP?: string };
        }[];
        waiting = "pods to be placed";
        if (pods.length === 0 || pods.some((p) => !p.status?.podIP)) return undefined;
        const revision = await storeRevision();
        const list = await agents();
        waiting = `revision ${revision}: ${JSON.stringify(list.map((a) => [a.node, a.revision]))}`;
        if (list.length !== 3 || list.some((a) => a.revision < revision)) return undefined;
        const again = restarted && byNode(list).get(restarted.node);
        waiting = `a report from the new agent on ${restarted?.node}`;
        if (again && again.startedAt === restarted.was) return undefined;
        return { nodes: new Set(pods.map((p) => p.spec?.nodeName)).size, agents: list };
      } catch (e) {
        waiting = `the API (${(e as Error).message.split("\n")[0]})`; // still on its way back
        return undefined;
      }
    };
    try {
      return await until("three agents to enforce the store", check, 120_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; waiting for ${waiting}`);
    }
  };
  /** Real probes against the live matrix; the result is the new last good state. */
  const assertKernelEqualsMatrix = async (what: string): Promise<Map<string, boolean>> => {
    const judged = new Map(matrix(PORTS).map((c) => [cellKey(c), c.allowed]));
    const probed = await probe(PORTS);
    assert.ok(probed.length > 50, `${what}: ${probed.length} probes`);
    const wrong = probed.filter((c) => judged.get(cellKey(c)) !== c.allowed).map(cellKey);
    assert.deepEqual(wrong, [], `${what}: kernel and matrix disagree`);
    lastGood = new Map(probed.map((c) => [cellKey(c), c.allowed]));
    return lastGood;
  };
  /** During an outage: every probe as the last good matrix said. */
  const assertLastGoodKept = async (what: string) => {
    const probed = await probe(PORTS);
    assert.equal(probed.length, lastGood.size, `${what}: probes`);
    const wrong = probed.filter((c) => lastGood.get(cellKey(c)) !== c.allowed).map(cellKey);
    assert.deepEqual(wrong, [], `${what}: the kernel moved from the last good state`);
    assert.ok(probed.some((c) => c.allowed) && probed.some((c) => !c.allowed));
  };
  /** Every held connection still carries data both ways. */
  const exchange = async (what: string) => {
    exchanges++;
    await Promise.all(
      held.map((h) => h.roundTrip(`${what.replace(/\W+/g, "-")}-${exchanges}`, 20_000)),
    );
    assert.deepEqual(held.map((h) => h.ended).filter(Boolean), [], `${what}: connections dropped`);
  };
  /** How long recovery took since `from`, with the load it ran under (no assertion). */
  const took = (t: TestContext, what: string, from: number) =>
    t.diagnostic(`${what}: ${Date.now() - from} ms (load ${loadavg()[0]!.toFixed(1)})`);
  /** Holds `up` (and so its supervision) still, so an outage lasts until thawed. */
  const freeze = () => {
    process.kill(up!.child.pid!, "SIGSTOP");
    frozen = true;
  };
  const thaw = () => {
    if (!frozen) return;
    frozen = false;
    process.kill(up!.child.pid!, "SIGCONT");
  };
  const killAndWait = async (pid: number, what: string) => {
    process.kill(pid, "SIGKILL");
    await until(`${what} (pid ${pid}) to die`, () => (gone(pid) ? true : undefined), 10_000);
  };

  /** A test whose failure says what up printed (its supervisor's lines name what it restarted). */
  const step = (name: string, fn: (t: TestContext) => Promise<void>) =>
    test(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        if (e instanceof Error) e.message += `\nmicroseg up said:\n${up?.output().slice(-3000)}`;
        throw e;
      }
    });

  // Should this process exit without its hooks, up must not stay frozen with its lab up.
  const onExit = () => {
    if (up?.child.exitCode !== null || up.child.signalCode !== null) return;
    if (frozen) process.kill(up.child.pid!, "SIGCONT");
    up.child.kill("SIGINT");
  };
  process.once("exit", onExit);

  before(async () => {
    // The data directory in memory: restarting etcd keeps it, and a loaded shared disk's slow
    // fdatasync does not stretch every write of the test.
    etcd = await startEtcd({ inMemory: true });
    up = await startUp(
      [
        ...["--state-dir", dir, "--listen", `127.0.0.1:${port}`],
        ...["--datastore", etcd.url, "--nodes", "3", "--no-examples"],
      ],
      180_000,
    );
  });

  after(async () => {
    process.off("exit", onExit);
    await Promise.all(held.map((h) => h.close()));
    if (up && up.child.exitCode === null && up.child.signalCode === null) {
      thaw();
      up.child.kill("SIGINT");
      const timer = setTimeout(() => up?.child.kill("SIGKILL"), 60_000);
      await up.exited;
      clearTimeout(timer);
    }
    // up's own teardown removes the lab and stops its server; should it not have run, the
    // lab's record does, and the server's pid file names it (its command line names `dir`).
    if (up) downLab(LabFiles.of(join(dir, "lab"), up.labId));
    try {
      const pid = Number(readFileSync(join(dir, "server.pid"), "utf8"));
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  step(
    "the examples applied through the API are enforced on all three nodes as the matrix says",
    async () => {
      assert.match(up!.output(), /enforced +3 nodes/, up!.output());
      assert.match(run("apply", "-f", join(root, "examples")), /created/);
      const { nodes } = await enforced();
      // The lab places the examples' pods over the nodes; traffic crosses nodes, and the third
      // node's agent is at the store's revision as well (enforced() waits for all three).
      assert.ok(nodes >= 2, `the examples' pods are on ${nodes} node(s)`);
      const cells = await assertKernelEqualsMatrix("examples on etcd");
      // Both verdicts are there: a wrongly open or wrongly closed kernel would show.
      assert.ok([...cells.values()].includes(true) && [...cells.values()].includes(false));
    },
  );

  step("a label changed through the API moves enforcement on every node", async () => {
    run("label", "pod", "blue-web-0", "-n", "directory", "role=ldap-client", "--overwrite");
    await enforced();
    const cells = await assertKernelEqualsMatrix("after the label");
    assert.equal(cells.get(LDAP), true, "the relabelled client reaches LDAP");
  });

  /** The node whose agent is killed: it holds both ends of one connection and one end of two. */
  let victim: string;

  step(
    "TCP connections between allowed pods, on one node and across nodes, are held open",
    async () => {
      const pods = new Map(plan().pods.map((p) => [p.name, p]));
      const allowed = [...lastGood]
        .filter(([key, ok]) => ok && key.endsWith(" 8080/TCP"))
        .map(([key]) => key.replace(/ 8080\/TCP$/, "").split(" -> ") as [string, string])
        .filter(([from, to]) => from !== to && from !== RELABELLED && to !== RELABELLED)
        .map(([from, to]) => ({ from: pods.get(from)!, to: pods.get(to)! }));
      const pick = (node: string) => {
        const first = (test: (p: (typeof allowed)[number]) => boolean) => allowed.find(test);
        const chosen = [
          first((c) => c.from.node === node && c.to.node === node),
          first((c) => c.from.node === c.to.node && c.from.node !== node),
          first((c) => c.from.node === node && c.to.node !== node),
          first((c) => c.from.node !== node && c.to.node === node),
        ];
        return chosen.every(Boolean) ? (chosen as (typeof allowed)[number][]) : undefined;
      };
      const node = plan().nodes.find((n) => pick(n.name));
      assert.ok(node, "no node with allowed pairs on it, on another node and across nodes");
      victim = node.name;
      for (const { from, to } of pick(victim)!) {
        held.push(
          await holdConnection(
            `${from.name} -> ${to.name} 8080/TCP`,
            from.netns,
            to.ip,
            8080,
            20_000,
          ),
        );
      }
      await exchange("opened");
    },
  );

  step(
    "one node's agent is killed: the node keeps its last state; up restarts the agent, which takes over without dropping a connection",
    async (t) => {
      const node = plan().nodes.find((n) => n.name === victim)!;
      const name = `agent-${node.netns.slice(plan().prefix.length)}`;
      const pidFile = join(labDir(), "pids", `${name}.pid`);
      const pid = Number(readFileSync(pidFile, "utf8"));
      const serverPid = Number(readFileSync(join(dir, "server.pid"), "utf8"));
      // How many agents of the node have been through their start-up step (the log is
      // appended to by each): the table found kept, or a start-up table put in its place.
      const booted = () =>
        readFileSync(join(labDir(), "logs", `${name}.log`), "utf8").match(
          /"msg":"(existing table kept|start-up table installed)"/g,
        )?.length ?? 0;
      const bootedBefore = booted();
      const before = byNode(await agents());
      freeze();
      try {
        await killAndWait(pid, `the agent on ${victim}`);
        await assertLastGoodKept(`agent on ${victim} down`);
        await exchange(`agent on ${victim} down`);
        // The new agent's start, held open: the API server stopped, it has found the node's
        // table and waits for its first snapshot. The table it found must still be the one
        // enforced (no start-up table in its place, nothing flushed).
        process.kill(serverPid, "SIGSTOP");
        try {
          const thawed = Date.now();
          thaw();
          await until(
            `the new agent on ${victim} to take the table over`,
            () => (booted() > bootedBefore ? true : undefined),
            60_000,
          );
          took(t, "up thawed to the new agent holding the table", thawed);
          await assertLastGoodKept(`agent on ${victim} starting`);
          await exchange(`agent on ${victim} starting`);
        } finally {
          process.kill(serverPid, "SIGCONT");
        }
      } finally {
        thaw();
      }
      const serverBack = Date.now();
      const { agents: now } = await enforced({
        node: victim,
        was: before.get(victim)?.startedAt,
      });
      took(t, "API server thawed to the new agent enforcing the store", serverBack);
      assert.match(up!.output(), new RegExp(`agent on ${victim} restarted`));
      assert.notEqual(Number(readFileSync(pidFile, "utf8")), pid, "a new agent process");
      const after = byNode(now);
      assert.equal(after.get(victim)?.fullSyncs, 1, "the new agent's one full sync at start");
      for (const [name, report] of before)
        if (name !== victim)
          assert.equal(after.get(name)?.fullSyncs, report.fullSyncs, `${name} re-rendered nothing`);
      await assertKernelEqualsMatrix(`agent on ${victim} restarted`);
      await exchange(`agent on ${victim} restarted`);
      // The killed agent's ulogd2 outlived it; the new agent's flow capture runs all the same.
      await until(
        "the new agent's flow capture",
        async () =>
          byNode(await agents()).get(victim)?.flows?.ulogd?.state === "running" || undefined,
        60_000,
      );
    },
  );

  step(
    "the API server is killed: agents keep the last state; meanwhile the store changes and is compacted; up restarts the server, agents resync without a full render, and changes are enforced",
    async (t) => {
      const pidFile = join(dir, "server.pid");
      const pid = Number(readFileSync(pidFile, "utf8"));
      const before = byNode(await agents());
      const revision = await storeRevision();
      freeze();
      try {
        await killAndWait(pid, "the API server");
        await assertLastGoodKept("API server down");
        await exchange("API server down");
        // Meanwhile another client of the store (as a second API server on the same etcd
        // would) changes it and compacts its history past every agent's revision: the new
        // server must answer their resumed watches with 410, and they relist.
        const store = await openDatastore(etcd!.url);
        try {
          const ref = {
            kind: { apiVersion: "v1", kind: "Pod" } as const,
            namespace: "directory",
            name: "blue-web-0",
          };
          const pod = await store.get(ref);
          await store.update({
            ...pod,
            metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, role: "web" } },
          } as WriteInput);
          await store.compact(await store.revision());
        } finally {
          await store.close();
        }
      } finally {
        thaw();
      }
      const thawed = Date.now();
      await until(
        "the API server to be back",
        async () => {
          if (Number(readFileSync(pidFile, "utf8")) === pid) return undefined;
          return (await fetch(`${server}/readyz`).catch(() => undefined))?.ok || undefined;
        },
        90_000,
      );
      const { agents: resynced } = await enforced();
      took(t, "up thawed to a new API server and every agent relisted", thawed);
      assert.ok(resynced.every((a) => a.revision > revision));
      // The new server's watch streams carried ERROR events (the 410s): the agents relisted.
      const metrics = await (await fetch(`${server}/metrics`)).text();
      const errors = Number(
        /microseg_api_watch_events_total\{type="ERROR"\} (\d+)/.exec(metrics)?.[1],
      );
      assert.ok(errors >= 3, `${errors} ERROR events on the new server's watches`);
      let cells = await assertKernelEqualsMatrix("the change made while the API server was down");
      assert.equal(cells.get(LDAP), false, "enforced: blue-web-0 is no LDAP client");
      await exchange("API server back");
      run("label", "pod", "blue-web-0", "-n", "directory", "role=ldap-client", "--overwrite");
      const { agents: now } = await enforced();
      cells = await assertKernelEqualsMatrix("a change after the API server came back");
      assert.equal(cells.get(LDAP), true, "enforced: blue-web-0 is an LDAP client again");
      const after = byNode(now);
      for (const [name, report] of before)
        assert.equal(after.get(name)?.fullSyncs, report.fullSyncs, `${name} rendered deltas only`);
      await exchange("after the API server's return");
    },
  );

  step(
    "etcd is killed: everything keeps the last state and writes are refused; etcd restarts on its data, the API server resumes, and a pod created then is placed and enforced",
    async (t) => {
      const before = byNode(await agents());
      const revision = await storeRevision();
      await etcd!.kill();
      assert.equal((await fetch(`${server}/readyz`)).ok, false, "not ready without its store");
      await assertLastGoodKept("etcd down");
      await exchange("etcd down");
      assert.throws(
        () => run("label", "pod", "blue-web-0", "-n", "directory", "role=web", "--overwrite"),
        "a write while etcd is down fails",
      );
      const restarting = Date.now();
      await etcd!.start();
      const { agents: back } = await enforced();
      took(t, "etcd started to every agent at the store's revision", restarting);
      assert.equal(await storeRevision(), revision, "nothing was written while etcd was down");
      await exchange("etcd back");
      // A new LDAP client: up's lab (kubelet's part) makes its pod and writes its address back
      // through the resumed watch; the agents enforce it.
      const template = JSON.parse(
        run("get", "pod", "-n", "directory", "ldap-client-0", "-o", "json"),
      );
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: "ldap-client-9",
          namespace: "directory",
          labels: template.metadata.labels,
        },
        spec: { containers: template.spec.containers },
      };
      execFileSync(process.execPath, [cli, "apply", "-f", "-", "--server", server], {
        input: JSON.stringify(pod),
        encoding: "utf8",
      });
      const { agents: now } = await enforced();
      assert.ok(now.every((a) => a.revision > revision));
      const cells = await assertKernelEqualsMatrix("a pod created after etcd came back");
      assert.equal(cells.get("directory/ldap-client-9 -> directory/ldap-server-0 389/TCP"), true);
      assert.equal(cells.get("directory/ldap-client-9 -> geo-location/ipmap-0 8080/TCP"), false);
      for (const [name, report] of before)
        assert.equal(
          byNode(back).get(name)?.fullSyncs,
          report.fullSyncs,
          `${name} re-rendered nothing`,
        );
      await exchange("after etcd's return");
    },
  );
});
