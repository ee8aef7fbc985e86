// biome-ignore-all lint/suspicious/noTemplateCurlyInString: alert templates write ${field} on purpose.
// Aggregation per interval and key (and by owner), GlobalAlert dedupe per group and period,
// metric alerts over the lookback, the built-in alert, and the flow store's queries and bounds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Aggregator,
  AlertEvaluator,
  DEFAULT_ALERT_NAME,
  Enricher,
  FlowContext,
  type FlowLog,
  FlowQueryError,
  FlowStore,
} from "../../src/flows/index.ts";
import { type GlobalAlert, GlobalAlertSchema } from "../../src/model/index.ts";
import { ns, packet, pod, upsert } from "./fixtures.ts";

const T0 = 1_800_000_000_000;
const ctx = new FlowContext();
ctx.apply(
  [
    ns("blue"),
    pod("blue", "frontend-5d8f7c9b6-x2x4z", "198.18.1.1", { app: "frontend", color: "blue" }),
    pod("blue", "frontend-5d8f7c9b6-k7q9w", "198.18.1.2", { app: "frontend", color: "blue" }),
    pod("blue", "ldap-0", "198.18.1.10", { role: "ldap-server", color: "blue" }),
  ].map(upsert),
  T0 - 60_000,
);
const enricher = new Enricher(ctx);
const deny = (time: number, src = "198.18.1.1", dport = 389, sport = 40000): FlowLog =>
  enricher.enrich(
    packet({
      time,
      prefix: {
        action: "D",
        direction: "ingress",
        tier: "security",
        policy: "GlobalNetworkPolicy//blue-ldap" as never,
        rule: 2,
      },
      src,
      dst: "198.18.1.10",
      dport,
      sport,
    }),
  )!;

const alert = (spec: Record<string, unknown>): GlobalAlert =>
  GlobalAlertSchema.parse({
    apiVersion: "microseg.io/v1",
    kind: "GlobalAlert",
    metadata: { name: "ldap" },
    spec,
  });

describe("aggregation", () => {
  test("one record per key and interval, with packets, bytes, connections, first and last seen", () => {
    const agg = new Aggregator({ intervalMs: 15_000 });
    const start = T0 - (T0 % 15_000);
    for (let i = 0; i < 5; i++) agg.add(deny(start + 1000 + i, "198.18.1.1", 389, 40000 + i));
    agg.add(deny(start + 2000, "198.18.1.1", 636));
    agg.add(deny(start + 16_000));
    assert.equal(agg.flush(start + 14_999).length, 0, "nothing closes before its interval ends");
    const first = agg.flush(start + 15_000);
    assert.equal(first.length, 2);
    const ldap = first.find((r) => r.fields.dest_port === "389")!;
    assert.deepEqual(
      [
        ldap.packets,
        ldap.bytes,
        ldap.connections,
        ldap.firstSeen,
        ldap.lastSeen,
        ldap.fields.source_port,
      ],
      [5, 300, 5, start + 1000, start + 1004, ""],
    );
    assert.equal(agg.flush(start + 30_000).length, 1);
  });

  test("by owner, replica pods fold into frontend-*", () => {
    const agg = new Aggregator({ byOwner: true });
    agg.add(deny(T0, "198.18.1.1"));
    agg.add(deny(T0 + 1, "198.18.1.2"));
    const [r, ...rest] = agg.flush(Number.POSITIVE_INFINITY);
    assert.equal(rest.length, 0);
    assert.equal(r!.fields.source_name, "frontend-*");
    assert.equal(r!.fields.dest_name, "ldap-0", "a StatefulSet pod is its own owner");
    assert.equal(r!.packets, 2);
    const plain = new Aggregator();
    plain.add(deny(T0, "198.18.1.1"));
    plain.add(deny(T0 + 1, "198.18.1.2"));
    assert.equal(plain.flush(Number.POSITIVE_INFINITY).length, 2);
  });

  test("a flush closes the ended intervals only, oldest first; the group bound spans intervals", () => {
    const agg = new Aggregator({ intervalMs: 1000, maxGroups: 3 });
    const start = T0 - (T0 % 1000);
    // Made out of time order: the records still come oldest interval first.
    agg.add(deny(start + 2500, "198.18.1.1"));
    agg.add(deny(start + 500, "198.18.1.2"));
    agg.add(deny(start + 400, "198.18.1.1"));
    agg.add(deny(start + 1500, "198.18.1.1"));
    assert.equal(agg.openGroups, 3);
    assert.equal(agg.overflow, 1, "the fourth group found no room");
    const first = agg.flush(start + 1000);
    assert.deepEqual(
      first.map((r) => [r.start, r.end, r.firstSeen]),
      [
        [start, start + 1000, start + 400],
        [start, start + 1000, start + 500],
      ],
    );
    assert.equal(agg.openGroups, 1);
    agg.add(deny(start + 1600, "198.18.1.2"));
    assert.equal(agg.overflow, 1, "a closed interval's groups make room");
    assert.deepEqual(
      agg.flush(Number.POSITIVE_INFINITY).map((r) => [r.start, r.firstSeen]),
      [
        [start + 2000, start + 2500],
        [start + 1000, start + 1600],
      ].sort((a, b) => a[0]! - b[0]!),
    );
    assert.equal(agg.openGroups, 0);
  });
});

describe("alerts", () => {
  const ldapAlert = alert({
    description: "LDAP from ${source_namespace}/${source_name}",
    severity: 80,
    selector: 'action == "deny" && policy == "blue-ldap" && source_labels.color == "blue"',
    aggregateBy: ["source_namespace", "source_name"],
    period: "1m",
  });

  test("a matching record raises at once; one alert per group per period, with a count", () => {
    const ev = new AlertEvaluator([ldapAlert], { defaultAlert: false });
    const first = ev.onLog(deny(T0));
    assert.equal(first.length, 1);
    assert.deepEqual(
      { ...first[0]!, fields: undefined, reason: undefined },
      {
        time: new Date(T0).toISOString(),
        alert: "ldap",
        severity: 80,
        summary: "LDAP from blue/frontend-5d8f7c9b6-x2x4z",
        description: "LDAP from blue/frontend-5d8f7c9b6-x2x4z",
        source: "blue/frontend-5d8f7c9b6-x2x4z",
        destination: "blue/ldap-0",
        port: "389",
        protocol: "tcp",
        policy: "blue-ldap",
        action: "deny",
        count: 1,
        fields: undefined,
        reason: undefined,
      },
    );
    for (let i = 1; i <= 9; i++) assert.equal(ev.onLog(deny(T0 + i * 1000)).length, 0);
    assert.equal(
      ev.onLog(deny(T0 + 500, "198.18.1.2")).length,
      1,
      "another group alerts on its own",
    );
    const next = ev.onLog(deny(T0 + 60_000));
    assert.equal(next.length, 1, "the next period raises again");
    assert.equal(next[0]!.count, 10, "it stands for itself and the 9 suppressed");
  });

  test("a record that does not match raises nothing", () => {
    const ev = new AlertEvaluator([ldapAlert], { defaultAlert: false });
    const log = deny(T0);
    assert.equal(ev.onLog({ ...log, fields: { ...log.fields, policy: "other" } }).length, 0);
  });

  test("metric count gt threshold over the sliding lookback", () => {
    const ev = new AlertEvaluator(
      [
        alert({
          description: "scan",
          severity: 60,
          selector: 'action == "deny"',
          metric: "count",
          condition: "gt",
          threshold: 3,
          period: "10s",
          lookback: "10s",
        }),
      ],
      { defaultAlert: false },
    );
    assert.equal(
      ev.onLog(deny(T0)).length + ev.onLog(deny(T0 + 1)).length + ev.onLog(deny(T0 + 2)).length,
      0,
    );
    const raised = ev.onLog(deny(T0 + 3));
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.value, 4);
    // 12 s later the first four left the lookback: three more stay under the threshold.
    for (const t of [12_000, 12_001, 12_002]) assert.equal(ev.onLog(deny(T0 + t)).length, 0);
  });

  test("metric count lt 1 fires on tick when nothing matched in the lookback", () => {
    const ev = new AlertEvaluator(
      [
        alert({
          description: "silence",
          severity: 10,
          selector: 'action == "allow"',
          metric: "count",
          condition: "lt",
          threshold: 1,
          period: "1m",
          lookback: "1m",
        }),
      ],
      { defaultAlert: false },
    );
    const raised = ev.tick(T0);
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.value, 0);
    assert.equal(ev.tick(T0 + 1000).length, 0, "once per period");
  });

  test("the built-in alert raises for a deny between workloads and can be turned off", () => {
    const on = new AlertEvaluator([]);
    assert.deepEqual(on.names, [DEFAULT_ALERT_NAME]);
    const raised = on.onLog(deny(T0));
    assert.equal(raised.length, 1);
    assert.equal(
      raised[0]!.description,
      "denied blue/frontend-5d8f7c9b6-x2x4z -> blue/ldap-0:389/tcp by blue-ldap",
    );
    assert.equal(new AlertEvaluator([], { defaultAlert: false }).onLog(deny(T0)).length, 0);
  });

  test("a full group table is swept on tick and once per second, not per log", () => {
    const perFlow = alert({
      description: "d",
      severity: 10,
      selector: 'action == "deny"',
      period: "1m",
      lookback: "1m",
    });
    const ev = new AlertEvaluator([perFlow], { defaultAlert: false });
    // 10,000 groups (the bound): one per destination port, each alerting once.
    for (let port = 1; port <= 10_000; port++)
      assert.equal(ev.onLog(deny(T0, "198.18.1.1", port)).length, 1);
    assert.equal(ev.onLog(deny(T0 + 1, "198.18.1.1", 20_001)).length, 0, "no room: dropped");
    assert.equal(ev.onLog(deny(T0 + 2, "198.18.1.1", 20_002)).length, 0);
    assert.deepEqual(ev.droppedGroups(), { ldap: 2 }, "every log without a group is counted");
    // The period ended: the next log's sweep (a second after the last) frees the idle groups.
    const later = ev.onLog(deny(T0 + 60_000, "198.18.1.1", 20_003));
    assert.equal(later.length, 1);
    // The table refills; a tick sweeps it once the period has passed again.
    for (let port = 30_000; port < 39_999; port++) ev.onLog(deny(T0 + 60_000, "198.18.1.1", port));
    assert.equal(ev.onLog(deny(T0 + 60_001, "198.18.1.1", 50_000)).length, 0, "full again");
    assert.deepEqual(ev.tick(T0 + 120_000), []);
    assert.equal(ev.onLog(deny(T0 + 120_000, "198.18.1.1", 50_001)).length, 1);
    assert.deepEqual(ev.droppedGroups(), { ldap: 3 });
  });

  test("selectors and alert fields see labels as own data only, the whole view without aggregateBy", () => {
    const byCtor = alert({
      description: "d",
      severity: 10,
      selector: 'source_labels.constructor == "x" && !has(dest_labels.toString)',
      period: "1m",
    });
    const ev = new AlertEvaluator([byCtor], { defaultAlert: false });
    const log = deny(T0);
    assert.equal(ev.onLog(log).length, 0, "Object.prototype's constructor is no label");
    const [raised, ...rest] = ev.onLog({
      ...log,
      sourceLabels: { ...log.sourceLabels, constructor: "x" },
    });
    assert.equal(rest.length, 0);
    assert.equal(raised!.fields["source_labels.constructor"], "x");
    assert.equal(
      raised!.fields["source_labels.app"],
      "frontend",
      "every label, not the selector's",
    );
    assert.equal(raised!.fields["dest_labels.role"], "ldap-server");
    assert.equal(raised!.fields.dest_port, "389");
  });

  test("the built-in alert stands aside for a deny a user's alert matches, deduped or not", () => {
    const ldapOnly = alert({
      description: "LDAP",
      severity: 80,
      selector: 'action == "deny" && dest_port == "389"',
      period: "1m",
    });
    const ev = new AlertEvaluator([ldapOnly]);
    assert.deepEqual(
      ev.onLog(deny(T0)).map((a) => a.alert),
      ["ldap"],
    );
    // Suppressed by the user's period: still theirs, so no built-in alert either.
    assert.deepEqual(ev.onLog(deny(T0 + 1000)), []);
    // A deny the user's alert does not match: the built-in one raises.
    const other = ev.onLog(deny(T0 + 2000, "198.18.1.1", 5432));
    assert.deepEqual(
      other.map((a) => a.alert),
      [DEFAULT_ALERT_NAME],
    );
  });
});

describe("flow store", () => {
  const records = (n: number, from: number) => {
    const agg = new Aggregator({ intervalMs: 1000 });
    for (let i = 0; i < n; i++) agg.add(deny(from + i * 1000, i % 2 ? "198.18.1.1" : "198.18.1.2"));
    return agg.flush(Number.POSITIVE_INFINITY);
  };

  test("queries by time range and selector over flow fields; streams what it stores", () => {
    const store = new FlowStore(":memory:");
    const seen: string[] = [];
    store.live.subscribe((r) => seen.push(r.fields.source_name));
    store.add(records(10, T0), T0 + 10_000);
    assert.equal(seen.length, 10);
    assert.equal(store.query().length, 10);
    assert.equal(store.query({ since: T0 + 5000 }).length, 5);
    const sel = store.query({
      selector: 'source_name == "frontend-5d8f7c9b6-k7q9w" && dest_labels.role == "ldap-server"',
    });
    assert.equal(sel.length, 5);
    assert.ok(sel.every((r) => r.fields.source_name === "frontend-5d8f7c9b6-k7q9w"));
    assert.throws(
      () => store.query({ selector: "source_name ==" }),
      (e: unknown) => e instanceof FlowQueryError && e.field === "selector",
    );
    store.close();
  });

  test("retention bounds records by age and by count, oldest first", () => {
    const store = new FlowStore(":memory:", { maxRecords: 4, maxAgeMs: 60_000 });
    store.add(records(10, T0), T0 + 10_000);
    assert.equal(store.size, 4);
    assert.deepEqual(
      store.query().map((r) => r.start),
      [6, 7, 8, 9].map((i) => T0 + i * 1000),
    );
    store.retain(T0 + 68_500);
    assert.deepEqual(
      store.query().map((r) => r.start),
      [T0 + 8000, T0 + 9000],
    );
    store.close();
  });
});
