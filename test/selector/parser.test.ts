// Parser behaviour beyond the Calico corpus: error positions, precedence, operator words,
// label key edge cases and the convenience entry points.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  canonicalSelector,
  parseSelector,
  SelectorParseError,
  selectorMatches,
  tryParseSelector,
} from "../../src/selector/index.ts";

describe("parse errors carry the column they point at", () => {
  const cases: [string, number, RegExp][] = [
    ["%", 1, /unexpected character "%"/],
    ["a == b", 6, /expected a quoted string but found label "b"/],
    ['a == "b" && %', 13, /unexpected character/],
    ['(a == "foo"', 12, /expected "\)" but found the end/],
    ['"FOO', 1, /unterminated string/],
    ['label squiggles "value"', 7, /expected an operator after the label/],
    ['label starts foo "value"', 14, /expected "with" after "starts"/],
    ['a not in "bar"', 10, /expected "\{"/],
    ['a = "b"', 3, /expected "=="/],
    ["has(a", 6, /expected "\)" to close has\(/],
    ["has( )", 6, /expected a label key inside has\(\)/],
    ['a in {"x" "y"}', 11, /expected a string or "\}"/],
    ["all() all()", 7, /unexpected "all\(\)" after a complete selector/],
    ["a ", 3, /expected an operator after label "a" but found the end/],
    ["\nall()", 1, /unexpected character "\\n"/],
  ];
  for (const [text, column, message] of cases) {
    test(`${JSON.stringify(text)} at column ${column}`, () => {
      const r = tryParseSelector(text);
      assert.ok(!r.ok, `${JSON.stringify(text)} should not parse`);
      assert.equal(r.error.code, "selector.parse");
      assert.equal(r.error.selector, text);
      assert.equal(r.error.column, column, `${JSON.stringify(text)}: ${r.error.message}`);
      assert.match(r.error.reason, message);
      assert.ok(r.error.message.endsWith(`\n  ${text}\n  ${" ".repeat(column - 1)}^`));
    });
  }
});

describe("structure", () => {
  const cases: [string, string][] = [
    ['!a == "b"', '!a == "b"'],
    ['!a == "b" && c == "d"', '(!a == "b" && c == "d")'],
    ['a == "1" || b == "2" && c == "3"', '(a == "1" || (b == "2" && c == "3"))'],
    ['(a == "1" || b == "2") && c == "3"', '((a == "1" || b == "2") && c == "3")'],
    ['(a == "1" && b == "2") && c == "3"', '(a == "1" && b == "2" && c == "3")'],
    ["!!has(a)", "has(a)"],
    ["!(!has(a))", "has(a)"],
    ["!(has(a) && has(b))", "!(has(a) && has(b))"],
    ["\t all() \t", "all()"],
    ["global()", "global()"],
    ["has( app.kubernetes.io/name )", "has(app.kubernetes.io/name)"],
    ['a in {"x",}', 'a in {"x"}'],
    ["a in {}", "a in {}"],
    ['a notin{"x"}', 'a not in {"x"}'],
    ['in in {"in"}', 'in in {"in"}'],
    ['has == "x"', 'has == "x"'],
    ['all == "x"', 'all == "x"'],
    ['not not in {"x"}', 'not not in {"x"}'],
    ["a == ''", 'a == ""'],
    ['a == "it\'s"', 'a == "it\'s"'],
  ];
  for (const [text, canonical] of cases) {
    test(`${JSON.stringify(text)} prints as ${canonical}`, () => {
      assert.equal(canonicalSelector(parseSelector(text)), canonical);
    });
  }
});

describe("semantics", () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['a != "x"', {}, true],
    ['a not in {"x"}', {}, true],
    ['a in {"x"}', {}, false],
    ['!a == "x"', { a: "y" }, true],
    ['!a == "x"', {}, true],
    ['a contains ""', { a: "" }, true],
    ['a contains ""', {}, false],
    ["has(constructor)", {}, false],
    ['toString == "x"', {}, false],
    ['constructor != "x"', {}, true],
    ["has(__proto__)", JSON.parse('{"__proto__": "x"}'), true],
    ['__proto__ == "x"', JSON.parse('{"__proto__": "x"}'), true],
    ["has(__proto__)", {}, false],
    ["global()", { "projectcalico.org/namespace": "ns" }, true],
  ];
  for (const [text, labels, expected] of cases) {
    test(`${text} on ${JSON.stringify(labels)} is ${expected}`, () => {
      assert.equal(selectorMatches(text, labels), expected);
    });
  }
});

test("selectorMatches throws SelectorParseError on bad text", () => {
  assert.throws(() => selectorMatches("a ==", {}), SelectorParseError);
});

test("tryParseSelector returns the AST on success", () => {
  const r = tryParseSelector('app == "web"');
  assert.deepEqual(r, { ok: true, value: { kind: "eq", key: "app", value: "web" } });
});
