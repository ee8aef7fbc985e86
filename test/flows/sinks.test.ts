// Alert sinks: a webhook receiver that is down or slow delays nothing (send returns at once),
// and gets every alert once it is back, up to the queue bound, with a counter of what was
// dropped; the Alertmanager sink against Debian's real prometheus-alertmanager on loopback.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type Alert, AlertmanagerSink, JsonLinesSink, WebhookSink } from "../../src/flows/index.ts";
import { until } from "../agent/kernel-fixtures.ts";
import { type Alertmanager, alertmanagerSkip, startAlertmanager } from "./alertmanager.ts";
import { ALERT_JSON_FIELDS, ldapAlert } from "./fixtures.ts";

const alert = (i: number) => ldapAlert(i);

/** A receiver that can be down (503) or slow; records what it accepted. */
function receiver() {
  const got: number[] = [];
  const state = { down: false, delayMs: 0 };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => {
      body += b;
    });
    req.on("end", () => {
      setTimeout(() => {
        if (state.down) {
          res.writeHead(503).end();
          return;
        }
        got.push(Number((JSON.parse(body) as Alert).summary.split(" ")[1]));
        res.writeHead(200).end();
      }, state.delayMs);
    });
  });
  return { got, state, server };
}

describe("webhook sink", () => {
  let r: ReturnType<typeof receiver>;
  let url: string;
  before(async () => {
    r = receiver();
    await new Promise<void>((ok) => r.server.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
  });
  after(() => r.server.close());

  test("a down receiver delays nothing and gets every alert once it is back", async () => {
    r.state.down = true;
    const sink = new WebhookSink({ url, backoffMs: { first: 20, max: 100 } });
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) sink.send(alert(i));
    const spent = performance.now() - t0;
    // Structural, not timed: nothing was delivered while send ran, all 50 are queued.
    assert.equal(
      sink.stats().queued,
      50,
      `send returned with everything queued (${spent.toFixed(1)} ms)`,
    );
    await until("some failed attempts", () => sink.stats().failures >= 2, 5000);
    r.state.down = false;
    await until("every alert delivered", () => r.got.length === 50, 10_000);
    assert.deepEqual(r.got, [...Array(50).keys()], "in order, each once");
    assert.equal(sink.stats().dropped, 0);
    sink.stop();
  });

  test("a slow receiver: the queue holds its bound, drops the oldest and counts them", async () => {
    r.got.length = 0;
    r.state.delayMs = 200;
    const sink = new WebhookSink({ url, capacity: 5 });
    for (let i = 0; i < 20; i++) sink.send(alert(i));
    const s = sink.stats();
    assert.ok(s.queued <= 5, `queued ${s.queued}`);
    assert.equal(s.dropped, 20 - 5, "one in flight and four queued are held, fifteen dropped");
    await until(
      "the queue drained",
      () => sink.stats().queued === 0 && sink.stats().delivered === 20 - sink.stats().dropped,
      10_000,
    );
    assert.deepEqual(r.got, [0, 16, 17, 18, 19], "the one in flight, then the newest");
    assert.equal(sink.stats().dropped, 20 - r.got.length);
    r.state.delayMs = 0;
    sink.stop();
  });

  test("stdout sink writes one JSON object per line with the alert's fields", () => {
    const lines: string[] = [];
    new JsonLinesSink((l) => lines.push(l)).send(alert(7));
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith("\n"));
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (const k of ALERT_JSON_FIELDS) {
      assert.ok(k in o, `missing ${k}`);
    }
  });
});

describe("Alertmanager sink against the real prometheus-alertmanager", {
  skip: alertmanagerSkip(),
}, () => {
  let am: Alertmanager | undefined;
  let base: string;

  before(async () => {
    am = await startAlertmanager();
    base = am.base;
  });
  after(async () => {
    await am?.stop();
  });

  test("alerts posted through the v2 API are listed by Alertmanager with our labels", async () => {
    const sink = new AlertmanagerSink({ url: base });
    sink.send({ ...alert(1), time: new Date().toISOString() });
    sink.send({ ...alert(2), time: new Date().toISOString(), source: "blue/web-2" });
    await until("delivered", () => sink.stats().delivered === 2, 10_000);
    const listed = await am!.alerts();
    const ours = listed.filter((a) => a.labels.alertname === "blue-ldap-violation");
    assert.deepEqual(ours.map((a) => a.labels.source).sort(), ["blue/other", "blue/web-2"]);
    const a = ours.find((x) => x.labels.source === "blue/other")!;
    assert.deepEqual(
      [
        a.labels.severity,
        a.labels.destination,
        a.labels.port,
        a.labels.protocol,
        a.labels.policy,
        a.annotations.count,
      ],
      ["critical", "blue/server", "389", "tcp", "blue-ldap", "1"],
    );
    sink.stop();
  });
});
