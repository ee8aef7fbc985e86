// `microseg flows` and `microseg alerts` as a user runs them: the CLI as a child process against
// a real `microseg server` (flow store beside its SQLite file, a webhook sink to a receiver in
// this test), fed by the client as an agent would feed it.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiClient } from "../../src/client/index.ts";
import { ALERT_JSON_FIELDS } from "../flows/fixtures.ts";
import { sampleTraffic } from "../flows/samples.ts";
import { cli, cliRunning, type ServerProcess, startServerProcess } from "./server-process.ts";

let server: ServerProcess;
let receiver: Server;
const hooked: unknown[] = [];
const run = (...args: string[]) => cli(server.url, args);
const { records, alerts } = sampleTraffic(Date.now() - 120_000);

before(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      hooked.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  server = await startServerProcess({ args: ["--alert-webhook", hook] });
  const client = new ApiClient({ server: server.url });
  await client.postFlows("node-1", records);
  await client.postAlerts("node-1", alerts);
  // Before any spawnSync blocks this process's receiver (a late answer is a retry: at least once).
  const deadline = Date.now() + 10_000;
  while (hooked.length < alerts.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
});
after(async () => {
  await server?.stop();
  receiver?.close();
});

describe("microseg flows", () => {
  it("prints a kubectl table of stored records; the store is flows.db beside the datastore", () => {
    const r = run("flows");
    assert.equal(r.status, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    assert.match(
      header!,
      /^LAST SEEN\s+SOURCE\s+DESTINATION\s+PORT\s+REPORTER\s+ACTION\s+POLICY\s+PACKETS\s+CONNECTIONS$/,
    );
    assert.equal(rows.length, 2);
    assert.ok(
      rows.some((l) =>
        /blue\/frontend-0\s+blue\/ldap-0\s+389\/TCP\s+dst\s+deny\s+blue-ldap\s+3\s+3$/.test(l),
      ),
      r.stdout,
    );
    assert.ok(existsSync(join(server.dir, "flows.db")));
  });

  it("-l filters by flow fields, -o wide adds columns, -o json prints one record per line", () => {
    const denied = run("flows", "-l", 'action == "deny"', "-o", "wide");
    assert.equal(denied.status, 0, denied.stderr);
    const lines = denied.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /BYTES\s+TIER\s+RULE\s+NODE\s+WOULD DENY\s+REASON$/);
    assert.match(lines[1]!, /\sdst\s+deny\s.*\s180\s+security\s+2\s+node-1\s+0\s/);
    const json = run("flows", "-o", "json");
    const parsed = json.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(parsed.map((p) => p.fields.action).sort(), ["allow", "deny"]);
    assert.equal(
      run("flows", "--since", "1m").stdout.trimEnd().split("\n").length,
      1,
      "header only",
    );
  });

  it("bad selectors and formats fail naming what is wrong, exit 1", () => {
    const sel = run("flows", "-l", "action ==");
    assert.equal(sel.status, 1);
    assert.match(sel.stderr, /Error from server \(BadRequest\): selector:/);
    const out = run("flows", "-o", "yaml");
    assert.equal(out.status, 1);
    assert.match(out.stderr, /allowed formats are: wide,json/);
  });

  it("--follow prints stored records, then each new one as it arrives", async () => {
    const follow = cliRunning(server.url, ["flows", "--follow", "-l", 'action == "deny"']);
    try {
      await follow.waitFor(/node|blue\/frontend-0/);
      await new ApiClient({ server: server.url }).postFlows(
        "node-2",
        sampleTraffic(Date.now() - 60_000).records,
      );
      await follow.waitFor(/blue\/frontend-0[^\n]*\n[^\n]*blue\/frontend-0/);
      assert.equal(follow.stdout.trimEnd().split("\n").length, 3, follow.stdout);
    } finally {
      await follow.stop();
    }
  });

  it("--help shows examples", () => {
    const r = run("flows", "--help");
    assert.match(r.stdout, /Examples:\n {2}microseg flows --since 10m/);
  });
});

describe("microseg alerts", () => {
  it("prints alerts as a table and as JSON lines with the documented fields", () => {
    const table = run("alerts");
    assert.equal(table.status, 0, table.stderr);
    const [header, row] = table.stdout.trimEnd().split("\n");
    assert.match(
      header!,
      /^ID\s+TIME\s+SEVERITY\s+ALERT\s+SOURCE\s+DESTINATION\s+PORT\s+POLICY\s+COUNT\s+ACKNOWLEDGED$/,
    );
    assert.match(
      row!,
      /50\s+default-denied-connection\s+blue\/frontend-0\s+blue\/ldap-0\s+389\/TCP\s+blue-ldap\s+1\s+<none>$/,
    );
    const json = JSON.parse(run("alerts", "-o", "json").stdout.trimEnd().split("\n")[0]!);
    for (const key of ALERT_JSON_FIELDS) {
      assert.ok(key in json, `${key} in ${JSON.stringify(json)}`);
    }
    assert.equal(json.source, "blue/frontend-0");
  });

  it("--acknowledge marks one; --unacknowledged leaves it out", () => {
    const id = JSON.parse(run("alerts", "-o", "json").stdout.split("\n")[0]!).id;
    const ack = run("alerts", "--acknowledge", String(id));
    assert.equal(ack.status, 0, ack.stderr);
    assert.equal(ack.stdout, `alert ${id} acknowledged\n`);
    assert.equal(run("alerts", "--unacknowledged", "-o", "json").stdout, "");
    const missing = run("alerts", "--acknowledge", "9999");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /NotFound/);
  });

  it("the server's --alert-webhook got every alert", () => {
    assert.equal(hooked.length, alerts.length, JSON.stringify(hooked).slice(0, 500));
    assert.equal((hooked[0] as { alert: string }).alert, "default-denied-connection");
  });
});
