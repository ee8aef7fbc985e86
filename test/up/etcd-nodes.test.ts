// Many nodes on etcd, as a user runs it (root): `microseg up --datastore etcd://... --nodes 3`
// on an etcd the test starts (test/etcd-server.ts), the examples applied through the API, and
// the three nodes' agents (each following the API server, which follows etcd) enforcing them:
// real packets between the lab's pods equal `microseg matrix` over the live store. Then one
// agent's node is relabelled through the API and the kernel follows on every node.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type EtcdServer, etcdInstalled, startEtcd } from "../etcd-server.ts";
import { rootSkipReason } from "../nft/needs-root.ts";
import { type Cell, cellKey, cli, root, startUp, type UpProcess, until } from "./up-process.ts";

const skip =
  rootSkipReason() ?? (etcdInstalled() ? false : "etcd-server is not installed (ensure-deps)");

describe("three nodes on etcd, end to end", { skip, timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "microseg-etcd-nodes-"));
  const port = 19_000 + Math.floor(Math.random() * 2_000);
  const server = `http://127.0.0.1:${port}`;
  let etcd: EtcdServer | undefined;
  let up: UpProcess | undefined;

  const run = (...args: string[]) =>
    execFileSync(process.execPath, [cli, ...args, "--server", server], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  const probe = (ports: string): Cell[] =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [cli, "lab", "probe", "--state-dir", join(dir, "lab"), "--ports", ports, "-o", "json"],
        { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      ),
    ).results;
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
  /** Every pod placed and each of the three nodes' agents at the store's revision. */
  const enforced = () =>
    until(
      "three agents to enforce the store",
      async () => {
        const pods = JSON.parse(run("get", "pods", "-A", "-o", "json")).items as {
          spec?: { nodeName?: string };
          status?: { podIP?: string };
        }[];
        if (pods.length === 0 || pods.some((p) => !p.status?.podIP)) return undefined;
        const revision = await storeRevision();
        const agents = (
          (await (await fetch(`${server}/api/v1/agents`)).json()) as {
            items: { node: string; revision: number }[];
          }
        ).items;
        if (agents.length !== 3 || agents.some((a) => a.revision < revision)) return undefined;
        return new Set(pods.map((p) => p.spec?.nodeName)).size;
      },
      120_000,
    );
  const assertKernelEqualsMatrix = (what: string, ports: string): Cell[] => {
    const judged = new Map(matrix(ports).map((c) => [cellKey(c), c.allowed]));
    const probed = probe(ports);
    assert.ok(probed.length > 50, `${what}: ${probed.length} probes`);
    const wrong = probed.filter((c) => judged.get(cellKey(c)) !== c.allowed).map(cellKey);
    assert.deepEqual(wrong, [], `${what}: kernel and matrix disagree`);
    return probed;
  };

  before(async () => {
    etcd = await startEtcd();
    up = await startUp(
      [
        ...["--state-dir", dir, "--listen", `127.0.0.1:${port}`],
        ...["--datastore", etcd.url, "--nodes", "3", "--no-examples"],
      ],
      180_000,
    );
  });

  after(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill("SIGINT");
      await up.exited;
    }
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the examples applied through the API are enforced on all three nodes as the matrix says", async () => {
    assert.match(up!.output(), /enforced +3 nodes/, up!.output());
    assert.match(run("apply", "-f", join(root, "examples")), /created/);
    const nodes = await enforced();
    // The lab places the examples' pods over the nodes; traffic crosses nodes, and the third
    // node's agent is at the store's revision as well (enforced() waits for all three).
    assert.ok(nodes >= 2, `the examples' pods are on ${nodes} node(s)`);
    const probed = assertKernelEqualsMatrix("examples on etcd", "389/TCP,8080/TCP");
    // Both verdicts are there: a wrongly open or wrongly closed kernel would show.
    assert.ok(probed.some((c) => c.allowed) && probed.some((c) => !c.allowed));
  });

  test("a label changed through the API moves enforcement on every node", async () => {
    run("label", "pod", "blue-web-0", "-n", "directory", "role=ldap-client", "--overwrite");
    await enforced();
    const probed = assertKernelEqualsMatrix("after the label", "389/TCP");
    const ldap = probed.find(
      (c) => c.from === "directory/blue-web-0" && c.to === "directory/ldap-server-0",
    );
    assert.equal(ldap?.allowed, true, "the relabelled client reaches LDAP");
  });
});
