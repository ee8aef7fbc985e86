// kill -9 of `microseg server` during a burst of HTTP writes loses none that were acknowledged:
// the server runs as its own process on a SQLite file; after SIGKILL a new server on the same
// file must return every object whose create was answered 201.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "microseg.js");
const dir = mkdtempSync(join(tmpdir(), "microseg-kill9-"));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `microseg server` on a free port; resolves with its URL from the "serving" log line. */
function startServerProcess(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "server",
      "--datastore",
      `sqlite:${db}`,
      "--listen",
      "127.0.0.1:0",
      "--log-level",
      "info",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`server did not start in 60 s:\n${out}\n${err}`)),
      60_000,
    );
    child.stderr?.on("data", (d) => {
      err += d;
    });
    child.stdout?.on("data", (d) => {
      out += d;
      for (const line of out.split("\n")) {
        if (!line.includes('"serving"')) continue;
        clearTimeout(timer);
        resolve({ child, url: JSON.parse(line).url });
        return;
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}:\n${out}\n${err}`)));
  });
}

const pod = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "burst" },
  spec: { containers: [] },
});

describe("kill -9 during a burst of writes", () => {
  it("every acknowledged write is there after a restart on the same file", async () => {
    const db = join(dir, "store.db");
    const first = await startServerProcess(db);
    const ns = await fetch(`${first.url}/api/v1/namespaces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "burst" } }),
    });
    assert.equal(ns.status, 201);

    const acknowledged: string[] = [];
    const KILL_AFTER = 60;
    const MAX_WRITES = 2000;
    let next = 0;
    let killed = false;
    const writer = async () => {
      while (next < MAX_WRITES) {
        const name = `p-${next++}`;
        try {
          const r = await fetch(`${first.url}/api/v1/namespaces/burst/pods`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(pod(name)),
          });
          await r.text();
          if (r.status === 201) acknowledged.push(name);
        } catch {
          return; // the server is gone
        }
        if (!killed && acknowledged.length >= KILL_AFTER) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    assert.ok(killed, `the burst ended before the kill (${acknowledged.length} acknowledged)`);
    assert.ok(next < MAX_WRITES, "writes were still being sent when the server died");

    const second = await startServerProcess(db);
    try {
      const res = await fetch(`${second.url}/api/v1/namespaces/burst/pods`);
      const list = (await res.json()) as { items: { metadata: { name: string } }[] };
      const stored = new Set(
        list.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      );
      const lost = acknowledged.filter((n) => !stored.has(n));
      assert.deepEqual(
        lost,
        [],
        `${lost.length} of ${acknowledged.length} acknowledged writes lost`,
      );
    } finally {
      second.child.kill("SIGTERM");
    }
  });
});
