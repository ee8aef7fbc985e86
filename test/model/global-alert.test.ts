// biome-ignore-all lint/suspicious/noTemplateCurlyInString: alert templates write ${field} on purpose.
// microseg.io/v1 GlobalAlert: a selector over flow fields, Calico's alert fields around it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseDuration } from "../../src/model/index.ts";
import { expectIssues, expectValid, type InvalidCase, variant } from "./helpers.ts";

const alert = {
  apiVersion: "microseg.io/v1",
  kind: "GlobalAlert",
  metadata: { name: "blue-ldap-violation" },
  spec: {
    description: "Blue workload ${source_namespace}/${source_name} tried LDAP",
    summary: "${count} LDAP attempts from ${source_name}",
    severity: 80,
    selector: 'action == "deny" && dest_port in {"389", "636"} && source_labels.color == "blue"',
    aggregateBy: ["source_namespace", "source_name"],
    metric: "count",
    condition: "gt",
    threshold: 0,
    period: "1m",
    lookback: "5m",
  },
};

describe("GlobalAlert", () => {
  test("valid; period and lookback defaults stay unapplied", () => {
    const a = expectValid(variant(alert, (x) => delete x.spec.period));
    assert.equal(a.kind === "GlobalAlert" && a.spec.period, undefined);
  });

  test("without aggregateBy, templates may use any flow field or label", () => {
    expectValid({
      ...alert,
      spec: {
        description: "${source_name} -> ${dest_name}:${dest_port} (${dest_labels.app})",
        severity: 1,
        selector: 'action == "deny"',
      },
    });
  });

  test("durations are Go's", () => {
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("300ms"), 300);
    for (const bad of ["", "5", "5 m", "m", "1d", "-1m"])
      assert.equal(parseDuration(bad), undefined, bad);
  });

  const cases: InvalidCase[] = [
    {
      name: "severity 0",
      input: variant(alert, (a) => (a.spec.severity = 0)),
      issues: ["spec.severity: must be an integer 1-100"],
    },
    {
      name: "severity as a word",
      input: variant(alert, (a) => (a.spec.severity = "high")),
      issues: ["spec.severity: must be an integer 1-100"],
    },
    {
      name: "missing description and selector",
      input: variant(alert, (a) => {
        delete a.spec.description;
        delete a.spec.selector;
      }),
      issues: ["spec.description: required", "spec.selector: required"],
    },
    {
      name: "selector over an unknown flow field",
      input: variant(alert, (a) => (a.spec.selector = 'verdict == "deny" && dst_port == "389"')),
      issues: [
        'spec.selector: unknown flow field "verdict"',
        'spec.selector: unknown flow field "dst_port"',
      ],
    },
    {
      name: "selector syntax",
      input: variant(alert, (a) => (a.spec.selector = 'action = "deny"')),
      issues: ['spec.selector: invalid selector: expected "==" at column 8'],
    },
    {
      name: "aggregateBy an unknown field",
      input: variant(alert, (a) => (a.spec.aggregateBy = ["source_namespace", "src_name"])),
      issues: [
        'spec.aggregateBy[1]: unknown flow field "src_name"',
        "spec.description: unknown variable ${source_name}",
        "spec.summary: unknown variable ${source_name}",
      ],
    },
    {
      name: "template variable outside aggregateBy",
      input: variant(alert, (a) => (a.spec.summary = "${count} from ${dest_name}")),
      issues: ["spec.summary: unknown variable ${dest_name}"],
    },
    {
      name: "metric without condition and threshold",
      input: variant(alert, (a) => {
        delete a.spec.condition;
        delete a.spec.threshold;
      }),
      issues: ["spec.condition: required with metric", "spec.threshold: required with metric"],
    },
    {
      name: "field with count",
      input: variant(alert, (a) => (a.spec.field = "bytes")),
      issues: ["spec.field: may not be set when metric is count"],
    },
    {
      name: "sum without field",
      input: variant(alert, (a) => {
        a.spec.metric = "sum";
        a.spec.summary = "${sum} packets";
      }),
      issues: ["spec.field: required when metric is sum"],
    },
    {
      name: "field not numeric",
      input: variant(alert, (a) => {
        a.spec.metric = "max";
        a.spec.field = "dest_port";
        a.spec.summary = "";
      }),
      issues: ["spec.field: must be one of packets, bytes, num_flows"],
    },
    {
      name: "condition without metric",
      input: variant(alert, (a) => {
        delete a.spec.metric;
        a.spec.summary = "LDAP from ${source_name}";
      }),
      issues: [
        "spec.condition: may only be set with metric",
        "spec.threshold: may only be set with metric",
      ],
    },
    {
      name: "period not a duration",
      input: variant(alert, (a) => (a.spec.period = "5 minutes")),
      issues: ['spec.period: must be a positive duration such as "30s", "5m" or "1h30m"'],
    },
    {
      name: "lookback shorter than period",
      input: variant(alert, (a) => (a.spec.lookback = "30s")),
      issues: ["spec.lookback: must be at least period, or flows between evaluations are missed"],
    },
    {
      name: "Calico's query and dataSet",
      input: variant(alert, (a) => {
        a.spec.dataSet = "flows";
        a.spec.query = "action=deny";
      }),
      issues: ["spec.dataSet: unknown field", "spec.query: unknown field"],
    },
  ];
  for (const c of cases) test(`invalid: ${c.name}`, () => expectIssues(c.input, c.issues));
});
