// The analysis verbs as scripts call them: lint's JSON and exit status by severity, cost's JSON
// fields, simulate and recommend over a real flow store file (SQLite, as the agent writes it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import { FlowStore } from "../../src/flows/index.ts";
import { loadManifests } from "../../src/model/index.ts";
import { pod, record } from "./flow-records.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "microseg.js");
const FIXTURES = join(import.meta.dirname, "lint");

function microseg(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), "microseg-analysis-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const WEB = { ns: "shop", name: "web-0", ip: "198.18.1.10" };
const DB = { ns: "shop", name: "db-0", ip: "198.18.1.20" };
const CLIENT = { ns: "shop", name: "client-0", ip: "198.18.1.30" };

const current = join(tmp, "current.yaml");
writeFileSync(
  current,
  [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
    pod("shop", "web-0", WEB.ip, { app: "web" }, [{ port: 8080 }]),
    pod("shop", "db-0", DB.ip, { app: "db" }, [{ port: 5432 }]),
    pod("shop", "client-0", CLIENT.ip, { app: "client" }),
  ]
    .map((o) => stringify(o))
    .join("---\n"),
);
const change = join(tmp, "change.yaml");
writeFileSync(
  change,
  stringify({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "db-in", namespace: "shop" },
    spec: {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
    },
  }),
);
const flows = join(tmp, "flows.db");
{
  const store = new FlowStore(flows);
  const now = Date.now();
  store.add(
    [
      record(CLIENT, WEB, 8080, "tcp", "allow", 4, now - 60_000),
      record(WEB, DB, 5432, "tcp", "allow", 2, now - 60_000),
      record(CLIENT, DB, 5432, "tcp", "allow", 1, now - 60_000),
      // Outside the --since window below.
      record(WEB, CLIENT, 9999, "tcp", "allow", 1, now - 3 * 3600_000),
    ],
    now,
  );
  store.close();
}

describe("microseg lint", () => {
  it("-o json prints the findings; exit 2 on an error, 1 on warnings only, 0 when clean", () => {
    const bad = microseg(
      "lint",
      "-f",
      join(FIXTURES, "isolation.deny-only/bad.yaml"),
      "-o",
      "json",
    );
    assert.equal(bad.status, 2, bad.stderr);
    const { findings } = JSON.parse(bad.stdout) as { findings: Array<Record<string, string>> };
    const f = findings.find((x) => x.check === "isolation.deny-only");
    assert.deepEqual(Object.keys(f ?? {}).sort(), [
      "check",
      "message",
      "object",
      "path",
      "severity",
    ]);
    assert.equal(f?.severity, "error");
    const warn = microseg("lint", "-f", join(FIXTURES, "log.everything/bad.yaml"));
    assert.equal(warn.status, 1, warn.stderr);
    assert.match(
      warn.stdout,
      /^warning: microseg.io\/GlobalNetworkPolicy web-log: spec.ingress\[0\]: /m,
    );
    const clean = microseg("lint", "-f", join(FIXTURES, "log.everything/good.yaml"), "-o", "json");
    assert.equal(clean.status, 0, clean.stdout);
    assert.deepEqual(JSON.parse(clean.stdout), { findings: [] });
  });

  it("input that does not load exits 3 and names the problem", () => {
    const r = microseg("lint", "-f", join(tmp, "missing.yaml"));
    assert.equal(r.status, 3);
    assert.match(r.stderr, /missing.yaml/);
  });
});

describe("microseg cost", () => {
  it("-o json carries the pool model and the renderer's table", () => {
    const r = microseg("cost", "-f", "examples/segmented-apps", "-o", "json");
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of ["pools", "firewallSets", "firewallRules", "sets", "rules", "elements"])
      assert.equal(typeof c[k], "number", k);
    assert.deepEqual([c.pools, c.firewallSets], [9, 4]);
  });
});

describe("microseg simulate and recommend over a flow store file", () => {
  it("simulate -o json: the client's recorded flow to db is newly denied", () => {
    const r = microseg(
      "simulate",
      "-f",
      change,
      "--current",
      current,
      "--flows",
      flows,
      "--since",
      "1h",
      "-o",
      "json",
    );
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.deepEqual(
      s.flows.newlyDenied.map((f: Record<string, unknown>) => `${f.from} -> ${f.to} ${f.port}`),
      ["shop/client-0 -> shop/db-0 5432"],
    );
    assert.equal(s.flows.unchanged, 2, "the 3 h old record is outside --since 1h");
  });

  it("recommend prints a List of StagedNetworkPolicies that loads back", async () => {
    const r = microseg("recommend", "-f", current, "--flows", flows, "--since", "1h");
    assert.equal(r.status, 0, r.stderr);
    const out = join(tmp, "recommended.yaml");
    writeFileSync(out, r.stdout);
    const loaded = await loadManifests([out]);
    assert.ok(loaded.ok, r.stdout);
    assert.deepEqual(
      loaded.resources.map((p) => `${p.kind} ${p.metadata.namespace}/${p.metadata.name}`),
      [
        "StagedNetworkPolicy shop/recommended-client",
        "StagedNetworkPolicy shop/recommended-db",
        "StagedNetworkPolicy shop/recommended-web",
      ],
    );
    assert.doesNotMatch(r.stdout, /9999/, "nothing from outside the window");
  });

  it("--flows naming no file is an error, not an empty window", () => {
    const r = microseg("recommend", "-f", current, "--flows", join(tmp, "none.db"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--flows: .*none.db: no such file/);
  });
});
