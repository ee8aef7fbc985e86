// lint, cost, simulate and recommend over the live API server (real server, real SQLite store,
// flow records shipped through the flows API as agents ship them), with no -f and no --flows.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { ApiClient } from "../../src/client/index.ts";
import { validResources } from "../../src/model/index.ts";
import { type Harness, startHarness } from "../server/harness.ts";
import { pod, record } from "./flow-records.ts";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "..", "..", "bin", "microseg.js");

async function microseg(...args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { encoding: "utf8" });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

const WEB = { ns: "shop", name: "web-0", ip: "198.18.1.10" };
const DB = { ns: "shop", name: "db-0", ip: "198.18.1.20" };
const CLIENT = { ns: "shop", name: "client-0", ip: "198.18.1.30" };

let h: Harness;
before(async () => {
  h = await startHarness({ flows: {} });
  const client = new ApiClient({ server: h.url });
  await client.applySet(
    validResources([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      pod("shop", "web-0", WEB.ip, { app: "web" }, [{ port: 8080 }]),
      pod("shop", "db-0", DB.ip, { app: "db" }, [{ port: 5432 }]),
      pod("shop", "client-0", CLIENT.ip, { app: "client" }),
      {
        apiVersion: "microseg.io/v1",
        kind: "GlobalNetworkPolicy",
        metadata: { name: "web-log" },
        spec: { selector: 'app == "web"', ingress: [{ action: "Log" }, { action: "Allow" }] },
      },
    ]),
  );
  const now = Date.now() - 30_000;
  await client.postFlows("node-1", [
    record(CLIENT, WEB, 8080, "tcp", "allow", 4, now),
    record(CLIENT, DB, 5432, "tcp", "allow", 1, now),
  ]);
});
after(async () => {
  await h?.close();
});

describe("analysis over the live server", () => {
  it("lint reads the store", async () => {
    const r = await microseg("lint", "-s", h.url, "-o", "json");
    assert.equal(r.status, 1, r.stderr);
    const { findings } = JSON.parse(r.stdout);
    assert.ok(
      findings.some((f: { check: string }) => f.check === "log.everything"),
      r.stdout,
    );
  });

  it("cost reads the store", async () => {
    const r = await microseg("cost", "-s", h.url, "-o", "json");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).rules > 0);
  });

  it("simulate and recommend read the store and the recorded flows", async () => {
    const change = join(h.dir, "change.yaml");
    writeFileSync(
      change,
      stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "db-in", namespace: "shop" },
        spec: { podSelector: { matchLabels: { app: "db" } }, ingress: [] },
      }),
    );
    const s = await microseg("simulate", "-s", h.url, "-f", change, "-o", "json");
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(
      JSON.parse(s.stdout).flows.newlyDenied.map(
        (f: { from: string; to: string }) => `${f.from} -> ${f.to}`,
      ),
      ["shop/client-0 -> shop/db-0"],
    );
    const r = await microseg("recommend", "-s", h.url, "-n", "shop", "-o", "json");
    assert.equal(r.status, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    const web = list.items.find(
      (p: { metadata: { name: string } }) => p.metadata.name === "recommended-web",
    );
    assert.equal(web.spec.ingress[0].source.selector, 'app == "client"');
    assert.deepEqual(web.spec.ingress[0].destination.ports, [8080]);
  });
});
