// Connection counts from conntrack without a kernel: ulogd2's NFCT lines (as its JSON output
// writes a DESTROY event) are parsed, matched to the logs that opened the connection, and their
// packets and bytes beyond the opening packet land in those logs' flow records. The kernel path
// is test/flows/kernel-capture.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConntrackLine } from "../../src/flows/conntrack-log.ts";
import {
  Aggregator,
  AlertEvaluator,
  FlowContext,
  FlowPipeline,
  PacketLogError,
} from "../../src/flows/index.ts";
import { ns, packet, pod, upsert } from "./fixtures.ts";

const T0 = 1_767_225_600_000;
const policy = "GlobalNetworkPolicy//blue-ldap" as never;

/** A DESTROY event as ulogd2 2.0.8's NFCT -> IP2STR -> JSON stack writes it. */
const nfctLine = (o: {
  sport: number;
  end: number;
  packets: [number, number];
  bytes: [number, number];
}) =>
  JSON.stringify({
    timestamp: "2026-01-01T00:00:16",
    dvc: "Netfilter",
    "orig.ip.protocol": 6,
    "orig.l4.sport": o.sport,
    "orig.l4.dport": 389,
    "orig.raw.pktlen": o.bytes[0],
    "orig.raw.pktcount": o.packets[0],
    "reply.ip.protocol": 6,
    "reply.l4.sport": 389,
    "reply.l4.dport": o.sport,
    "reply.raw.pktlen": o.bytes[1],
    "reply.raw.pktcount": o.packets[1],
    "ct.mark": 0,
    "ct.id": 3191931432,
    "ct.event": 4,
    "flow.start.sec": Math.floor(T0 / 1000),
    "flow.start.usec": 0,
    "flow.end.sec": Math.floor(o.end / 1000),
    "flow.end.usec": (o.end % 1000) * 1000,
    "oob.family": 2,
    "oob.protocol": 0,
    src_ip: "198.18.1.2",
    dest_ip: "198.18.1.10",
    "reply.ip.saddr.str": "198.18.1.10",
    "reply.ip.daddr.str": "198.18.1.2",
  });

function pipeline() {
  const context = new FlowContext();
  context.apply(
    [
      ns("blue"),
      pod("blue", "client-0", "198.18.1.2", { role: "ldap-client" }),
      pod("blue", "ldap-0", "198.18.1.10", { role: "ldap-server" }),
    ].map(upsert),
    T0 - 60_000,
  );
  return new FlowPipeline({
    context,
    aggregator: new Aggregator({ intervalMs: 15_000 }),
    alerts: new AlertEvaluator([], { defaultAlert: false }),
    sinks: [],
  });
}

const allowed = (sport: number, direction: "ingress" | "egress" = "ingress", time = T0) =>
  packet({
    time,
    prefix: { action: "A", direction, tier: "security", policy, rule: 0 },
    src: "198.18.1.2",
    dst: "198.18.1.10",
    dport: 389,
    sport,
  });

describe("connection counts from conntrack", () => {
  test("an NFCT line parses into both directions' sums and the kernel's end time", () => {
    const c = parseConntrackLine(
      nfctLine({ sport: 40001, end: T0 + 16_500, packets: [6, 4], bytes: [3320, 5216] }),
      0,
    );
    assert.deepEqual(c, {
      time: T0 + 16_500,
      start: T0,
      family: 4,
      protocol: 6,
      sourceIp: "198.18.1.2",
      destIp: "198.18.1.10",
      sourcePort: 40001,
      destPort: 389,
      packets: 10,
      bytes: 8536,
    });
    const bad = JSON.parse(nfctLine({ sport: 1, end: T0, packets: [1, 1], bytes: [1, 1] }));
    delete bad["orig.raw.pktcount"];
    assert.throws(
      () => parseConntrackLine(JSON.stringify(bad), 0),
      (e) => e instanceof PacketLogError && e.field === "orig.raw.pktcount",
    );
  });

  test("the rest of a connection counts in the interval it ended, for each reporter", () => {
    const p = pipeline();
    p.onPacket(allowed(40001, "egress"));
    p.onPacket(allowed(40001, "ingress"));
    const open = p.flush(T0 + 15_000);
    assert.deepEqual(
      open.map((r) => [r.fields.reporter, r.packets, r.bytes, r.connections]),
      [
        ["src", 1, 60, 1],
        ["dst", 1, 60, 1],
      ],
    );
    p.onConnectionEnd(
      parseConntrackLine(
        nfctLine({ sport: 40001, end: T0 + 16_500, packets: [6, 4], bytes: [3320, 5216] }),
        0,
      ),
    );
    const ended = p.flush(T0 + 30_000);
    assert.deepEqual(
      ended.map((r) => [
        r.start,
        r.fields.reporter,
        r.fields.policy,
        r.packets,
        r.bytes,
        r.connections,
      ]),
      [
        [T0 + 15_000, "src", "blue-ldap", 9, 8476, 0],
        [T0 + 15_000, "dst", "blue-ldap", 9, 8476, 0],
      ],
    );
    assert.deepEqual(p.stats().connections, {
      attributed: 1,
      unattributed: 0,
      evicted: 0,
      open: 0,
    });
    assert.deepEqual(p.stats().byPolicy["security/blue-ldap/0/allow"], {
      packets: 20,
      connections: 2,
    });
  });

  test("a connection no log opened (not logged, sampled out) is counted, not attributed", () => {
    const p = pipeline();
    p.onConnectionEnd(
      parseConntrackLine(
        nfctLine({ sport: 40002, end: T0, packets: [3, 2], bytes: [180, 120] }),
        0,
      ),
    );
    assert.deepEqual(p.flush(Number.POSITIVE_INFINITY), []);
    assert.equal(p.stats().connections.unattributed, 1);
  });

  test("a denied packet opens no connection; a retransmitted SYN is the same connection", () => {
    const p = pipeline();
    p.onPacket(
      packet({
        time: T0,
        prefix: { action: "D", direction: "ingress", tier: "security", policy, rule: 2 },
        src: "198.18.1.2",
        dst: "198.18.1.10",
        dport: 389,
        sport: 40003,
      }),
    );
    assert.equal(p.stats().connections.open, 0);
    p.onPacket(allowed(40004));
    p.onPacket(allowed(40004, "ingress", T0 + 1000));
    assert.equal(p.stats().connections.open, 1);
    p.onConnectionEnd(
      parseConntrackLine(
        nfctLine({ sport: 40004, end: T0 + 2000, packets: [5, 4], bytes: [500, 400] }),
        0,
      ),
    );
    const [r] = p.flush(Number.POSITIVE_INFINITY).filter((x) => x.fields.action === "allow");
    // Two SYNs logged (2 packets, 120 bytes), then the rest: conntrack's totals in all.
    assert.deepEqual([r!.packets, r!.bytes, r!.connections], [9, 900, 2]);
  });
});
