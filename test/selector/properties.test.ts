// Fuzzing the parser and the printer: arbitrary input fails only with SelectorParseError, and
// printing is a fixpoint that preserves meaning.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  canonicalSelector,
  compileSelector,
  parseSelector,
  SelectorParseError,
} from "../../src/selector/index.ts";
import { astArb, evaluate, labelsArb } from "./arbitraries.ts";

const TOKENS = [
  "a",
  "b",
  "app.kubernetes.io/name",
  "==",
  "!=",
  "!",
  "in",
  "not in",
  "notin",
  "not",
  "{",
  "}",
  ",",
  "(",
  ")",
  "&&",
  "||",
  "has(",
  "has(a)",
  "all()",
  "global()",
  "all(",
  "'x'",
  '"y"',
  "'",
  '"',
  "contains",
  "starts with",
  "ends with",
  "startswith",
  "starts",
  " ",
  "\t",
  "\n",
  "%",
  "=",
  "&",
  "|",
  "",
];

const soupArb = fc
  .array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom("", " ")), { maxLength: 14 })
  .map((parts) => parts.map(([t, sep]) => t + sep).join(""));

function checkParses(text: string): void {
  try {
    const ast = parseSelector(text);
    const printed = canonicalSelector(ast);
    assert.equal(canonicalSelector(parseSelector(printed)), printed, `round trip of ${printed}`);
  } catch (e) {
    if (!(e instanceof SelectorParseError)) throw e;
    assert.equal(e.selector, text);
    assert.ok(
      e.column >= 1 && e.column <= text.length + 1,
      `column ${e.column} in ${JSON.stringify(text)}`,
    );
  }
}

test("random strings parse or fail with SelectorParseError", () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }), checkParses), { numRuns: 3000 });
  fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), checkParses), {
    numRuns: 500,
  });
});

test("random token soups parse or fail with SelectorParseError", () => {
  fc.assert(fc.property(soupArb, checkParses), { numRuns: 5000 });
});

test("deep nesting fails cleanly instead of overflowing the stack", () => {
  assert.throws(() => parseSelector(`${"(".repeat(100_000)}all()`), SelectorParseError);
  assert.equal(
    canonicalSelector(parseSelector(`${"(".repeat(200)}has(a)${")".repeat(200)}`)),
    "has(a)",
  );
});

test("canonical form re-parses to itself and keeps the truth value", () => {
  fc.assert(
    fc.property(astArb, fc.array(labelsArb, { minLength: 1, maxLength: 8 }), (ast, labelSets) => {
      const printed = canonicalSelector(ast);
      const reparsed = parseSelector(printed);
      assert.equal(canonicalSelector(reparsed), printed);
      const original = compileSelector(ast);
      const again = compileSelector(reparsed);
      for (const labels of labelSets) {
        const expected = evaluate(ast, labels);
        assert.equal(original(labels), expected, `${printed} on ${JSON.stringify(labels)}`);
        assert.equal(again(labels), expected, `re-parsed ${printed} on ${JSON.stringify(labels)}`);
      }
    }),
    { numRuns: 3000 },
  );
});
