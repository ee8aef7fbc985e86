// `microseg lab up`, `lab probe` and `lab down` as separate invocations: the lab outlives the
// command that brought it up, its agents enforce the manifests, and down leaves no namespace,
// process or file behind.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { listNetns } from "../../src/lab/index.ts";
import { isRunning } from "../../src/lab/netns.ts";
import { rootSkipReason } from "../nft/needs-root.ts";

const cli = join(import.meta.dirname, "../../bin/microseg.js");

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  nodeName: node-1
  containers: [{name: c, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: demo, labels: {app: db}}
spec:
  nodeName: node-2
  containers: [{name: c, ports: [{containerPort: 5432}]}]
status: {podIPs: [{ip: 198.18.7.7}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-nobody, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`;

function microseg(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every process whose command line names `dir`: what the lab started and left running. */
function processesMentioning(dir: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return isRunning(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    });
}

describe("microseg lab CLI", { skip: rootSkipReason() }, () => {
  const dir = mkdtempSync(join(tmpdir(), "microseg-lab-cli-"));
  const stateDir = join(dir, "state");
  const file = join(dir, "demo.yaml");
  writeFileSync(file, manifests);
  const where = ["--state-dir", stateDir, "--id", "clit1"];
  after(async () => {
    await microseg(["lab", "down", ...where]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("up returns with the lab running, probe reports real connections, down removes it", async () => {
    const up = await microseg(["lab", "up", "-f", file, "-o", "json", ...where]);
    assert.equal(up.code, 0, up.stderr);
    const summary = JSON.parse(up.stdout) as { id: string; pods: { name: string; ip: string }[] };
    assert.equal(summary.id, "clit1");
    assert.deepEqual(
      summary.pods.map((p) => [p.name, p.ip]),
      [
        ["demo/web", "198.18.0.1"],
        ["demo/db", "198.18.7.7"],
      ],
    );
    const labDir = join(stateDir, "clit1");
    assert.ok(processesMentioning(labDir).length >= 4, "probers and agents run after up returned");

    const probe = await microseg(["lab", "probe", "-o", "json", "--timeout-ms", "500", ...where]);
    assert.equal(probe.code, 0, probe.stderr);
    const cells = (JSON.parse(probe.stdout) as { results: Record<string, unknown>[] }).results;
    assert.deepEqual(
      cells.map((c) => [c.from, c.to, c.port, c.protocol, c.allowed, c.egress, c.ingress]),
      [
        ["demo/db", "demo/web", 80, "TCP", false, null, null],
        ["demo/web", "demo/db", 80, "TCP", true, null, null],
        ["demo/db", "demo/web", 5432, "TCP", false, null, null],
        ["demo/web", "demo/db", 5432, "TCP", true, null, null],
      ],
    );

    const text = await microseg(["lab", "probe", "--ports", "80/TCP", ...where]);
    assert.match(text.stdout, /^80\/TCP: 1\/4 allowed/);

    // Narrowed to one pair: the connections tried, not the whole grid of `?`.
    const pair = await microseg([
      "lab",
      "probe",
      "--from",
      "demo/db",
      "--to",
      "demo/web",
      "--timeout-ms",
      "500",
      ...where,
    ]);
    assert.equal(pair.code, 0, pair.stderr);
    const lines = pair.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^FROM +TO +PORT +RESULT +OUTCOME +TIME$/);
    assert.deepEqual(
      lines.slice(1, -1).map((l) => l.split(/ +/).slice(0, 4)),
      [
        ["demo/db", "demo/web", "80/TCP", "denied"],
        ["demo/db", "demo/web", "5432/TCP", "denied"],
      ],
    );
    assert.equal(lines.at(-1), "0/2 allowed");

    const down = await microseg(["lab", "down", ...where]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith("ms-clit1-")),
      [],
    );
    assert.deepEqual(processesMentioning(labDir), []);
    assert.equal(existsSync(labDir), false);
  });
});
