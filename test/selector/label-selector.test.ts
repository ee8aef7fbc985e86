// Kubernetes LabelSelector conversion: every operator, the empty selector, and errors that
// name the offending field.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  canonicalSelector,
  compileSelector,
  fromLabelSelector,
  type LabelSelector,
  LabelSelectorError,
} from "../../src/selector/index.ts";

describe("conversion", () => {
  const cases: [string, LabelSelector, string][] = [
    ["empty selects everything", {}, "all()"],
    ["nulls select everything", { matchLabels: null, matchExpressions: null }, "all()"],
    ["matchLabels", { matchLabels: { app: "web", tier: "fe" } }, '(app == "web" && tier == "fe")'],
    [
      "In",
      { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] },
      'env in {"dev", "prod"}',
    ],
    [
      "NotIn",
      { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] },
      'env not in {"prod"}',
    ],
    [
      "Exists",
      { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "Exists" }] },
      "has(app.kubernetes.io/name)",
    ],
    [
      "DoesNotExist",
      { matchExpressions: [{ key: "canary", operator: "DoesNotExist", values: [] }] },
      "!has(canary)",
    ],
    [
      "both",
      {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }],
      },
      '(app == "web" && env in {"prod"})',
    ],
  ];
  for (const [name, ls, expected] of cases) {
    test(name, () => assert.equal(canonicalSelector(fromLabelSelector(ls)), expected));
  }
});

describe("semantics", () => {
  const notIn = compileSelector(
    fromLabelSelector({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }),
  );
  const absent = compileSelector(
    fromLabelSelector({ matchExpressions: [{ key: "env", operator: "DoesNotExist" }] }),
  );
  test("NotIn matches when the key is absent", () => assert.equal(notIn({}), true));
  test("NotIn rejects a listed value", () => assert.equal(notIn({ env: "prod" }), false));
  test("NotIn accepts another value", () => assert.equal(notIn({ env: "dev" }), true));
  test("DoesNotExist", () => {
    assert.equal(absent({}), true);
    assert.equal(absent({ env: "" }), false);
  });
  test("{} matches an empty label set", () =>
    assert.equal(compileSelector(fromLabelSelector({}))({}), true));
});

describe("errors name the field", () => {
  const cases: [string, LabelSelector, string][] = [
    [
      "unknown operator",
      { matchExpressions: [{ key: "a", operator: "Equals", values: ["x"] }] },
      "matchExpressions[0].operator",
    ],
    [
      "In without values",
      { matchExpressions: [{ key: "a", operator: "In" }] },
      "matchExpressions[0].values",
    ],
    [
      "NotIn with empty values",
      {
        matchExpressions: [
          { key: "a", operator: "Exists" },
          { key: "b", operator: "NotIn", values: [] },
        ],
      },
      "matchExpressions[1].values",
    ],
    [
      "Exists with values",
      { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] },
      "matchExpressions[0].values",
    ],
    [
      "bad key",
      { matchExpressions: [{ key: "a b", operator: "Exists" }] },
      "matchExpressions[0].key",
    ],
    [
      "bad value",
      { matchExpressions: [{ key: "a", operator: "In", values: ["ok", `'"`] }] },
      "matchExpressions[0].values[1]",
    ],
    ["bad matchLabels key", { matchLabels: { "no spaces": "x" } }, "matchLabels.no spaces"],
  ];
  for (const [name, ls, path] of cases) {
    test(name, () => {
      assert.throws(
        () => fromLabelSelector(ls),
        (e: unknown) =>
          e instanceof LabelSelectorError && e.code === "selector.labelSelector" && e.path === path,
        `${name}: expected LabelSelectorError at ${path}`,
      );
    });
  }
});
