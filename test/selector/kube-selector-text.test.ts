// Kubernetes label selector text (`kubectl get -l`): what each form means, checked by the
// canonical Calico text it parses to and by matching; errors point at the column.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canonicalSelector,
  compileSelector,
  parseKubeSelectorText,
  SelectorParseError,
} from "../../src/selector/index.ts";

test("each requirement form parses to its Calico equivalent", () => {
  const cases: Array<[string, string]> = [
    ["", "all()"],
    ["a=b", 'a == "b"'],
    ["a==b", 'a == "b"'],
    ["a!=b", 'a != "b"'],
    ["a=", 'a == ""'],
    ["a in (y,x)", 'a in {"x", "y"}'],
    ["a notin (x)", 'a not in {"x"}'],
    ["a", "has(a)"],
    ["!a", "!has(a)"],
    [" a = b , c ", '(a == "b" && has(c))'],
    ["example.com/role=db,tier in (a, b)", '(example.com/role == "db" && tier in {"a", "b"})'],
  ];
  for (const [text, canonical] of cases) {
    assert.equal(canonicalSelector(parseKubeSelectorText(text)), canonical, JSON.stringify(text));
  }
});

test("!= and notin match objects without the key, as in Kubernetes", () => {
  const ne = compileSelector(parseKubeSelectorText("app!=web"));
  const notin = compileSelector(parseKubeSelectorText("app notin (web)"));
  for (const fn of [ne, notin]) {
    assert.equal(fn({}), true);
    assert.equal(fn({ app: "db" }), true);
    assert.equal(fn({ app: "web" }), false);
  }
});

test("bad text is refused at the column of the problem", () => {
  const cases: Array<[string, number, RegExp]> = [
    ["a=b c", 5, /','/],
    ["a in ()", 7, /empty/],
    ["a in (x", 8, /'\)'/],
    ["a in x", 6, /'\('/],
    ["a >3", 3, /not supported/],
    ["=b", 1, /label key/],
    ["a=b,", 5, /label key/],
    ["!a=b", 3, /','/],
    ["Ab.com/x=1", 1, /DNS subdomain/],
    ["a=-x", 3, /label value/],
    [`a=${"v".repeat(64)}`, 3, /63/],
  ];
  for (const [text, column, reason] of cases) {
    assert.throws(
      () => parseKubeSelectorText(text),
      (e: unknown) =>
        e instanceof SelectorParseError && e.column === column && reason.test(e.reason),
      JSON.stringify(text),
    );
  }
});
