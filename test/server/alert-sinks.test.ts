// The server's alert sinks as agents reach them: a webhook receiver that is down and then back
// gets every alert the server took, in order and once, while ingest answers at once; past the
// queue bound the oldest are dropped and counted in /metrics; Debian's real
// prometheus-alertmanager lists what agents posted to the server.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, describe, it } from "node:test";
import { ApiClient } from "../../src/client/index.ts";
import { type Alert, AlertmanagerSink, WebhookSink } from "../../src/flows/index.ts";
import { until } from "../agent/kernel-fixtures.ts";
import {
  type Alertmanager,
  alertmanagerSkip,
  freePort,
  startAlertmanager,
} from "../flows/alertmanager.ts";
import { ldapAlert } from "../flows/fixtures.ts";
import { type Harness, startHarness } from "./harness.ts";

// Now: Alertmanager takes them as current.
const alert = (i: number) =>
  ldapAlert(i, {
    time: new Date().toISOString(),
    source: `blue/web-${i}`,
    destination: "directory/ldap-server-0",
  });
const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => alert(from + i));

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A webhook receiver on `port`, recording each alert's number. */
async function receiver(port: number): Promise<{ got: number[]; close(): Promise<void> }> {
  const got: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => {
      body += b.toString();
    });
    req.on("end", () => {
      got.push(Number((JSON.parse(body) as Alert).summary.split(" ")[1]));
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    got,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

describe("webhook sink of the server", () => {
  it("a receiver that is down, then back, gets every alert in order; past the bound they are counted", async () => {
    const port = await freePort();
    const webhook = new WebhookSink({
      url: `http://127.0.0.1:${port}/hook`,
      capacity: 5,
      backoffMs: { first: 20, max: 100 },
    });
    const h: Harness = await startHarness({ flows: { sinks: [webhook] } });
    cleanups.push(() => h.close());
    const client = new ApiClient({ server: h.url });

    // Down: ingest still answers, nothing is delivered, attempts fail and are retried.
    assert.deepEqual(await client.postAlerts("node-1", batch(0, 3)), { accepted: 3 });
    assert.equal(webhook.stats().delivered, 0);
    await until("two failed attempts", () => webhook.stats().failures >= 2, 10_000);
    let r = await receiver(port);
    await until("three delivered", () => r.got.length === 3, 10_000);
    assert.deepEqual(r.got, [0, 1, 2]);
    await r.close();

    // Down again with more than the bound: the oldest queued go, five arrive.
    assert.deepEqual(await client.postAlerts("node-1", batch(10, 8)), { accepted: 8 });
    await until("failures while down", () => webhook.stats().failures >= 4, 10_000);
    r = await receiver(port);
    cleanups.push(() => r.close());
    await until("queue drained", () => webhook.stats().queued === 0, 10_000);
    // The one in flight when the bound was hit (the oldest, 10, or 13 had it just failed) stays.
    assert.deepEqual(r.got.slice(1), [14, 15, 16, 17], `got ${r.got}`);
    assert.ok(r.got[0] === 10 || r.got[0] === 13, `got ${r.got}`);
    assert.equal(webhook.stats().dropped, 3);
    const metrics = (await h.request("GET", "/metrics")).text;
    assert.match(metrics, /microseg_alert_sink_dropped\{sink="webhook [^"]+"\} 3/);
    assert.match(metrics, /microseg_alert_sink_delivered\{sink="webhook [^"]+"\} 8/);
    assert.equal((await client.alerts()).length, 11, "the server stored every alert it took");
  });
});

describe("Alertmanager sink of the server against the real prometheus-alertmanager", {
  skip: alertmanagerSkip(),
}, () => {
  it("alerts agents post to the server are listed by Alertmanager with their labels", async () => {
    const am: Alertmanager = await startAlertmanager();
    cleanups.push(() => am.stop());
    const h = await startHarness({ flows: { sinks: [new AlertmanagerSink({ url: am.base })] } });
    cleanups.push(() => h.close());
    await new ApiClient({ server: h.url }).postAlerts("node-1", batch(1, 2));
    let listed: Awaited<ReturnType<Alertmanager["alerts"]>> = [];
    const deadline = Date.now() + 15_000;
    while (listed.length < 2 && Date.now() < deadline) {
      listed = (await am.alerts()).filter((a) => a.labels.alertname === "blue-ldap-violation");
      if (listed.length < 2) await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(listed.map((a) => a.labels.source).sort(), ["blue/web-1", "blue/web-2"]);
    const a = listed[0]!;
    assert.deepEqual(
      [a.labels.severity, a.labels.destination, a.labels.port, a.labels.policy],
      ["critical", "directory/ldap-server-0", "389", "blue-ldap"],
    );
  });
});
