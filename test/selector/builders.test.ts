// Programmatic construction: the smart combinators the policy layer composes selectors with.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ALL_SELECTOR,
  andSelectors,
  canonicalSelector,
  compileSelector,
  equalsSelector,
  hasSelector,
  NONE_SELECTOR,
  notSelector,
  orSelectors,
  parseSelector,
  SelectorBuildError,
  setSelector,
} from "../../src/selector/index.ts";

const text = canonicalSelector;

test("andSelectors drops all() and flattens", () => {
  const a = equalsSelector("a", "1");
  const b = hasSelector("b");
  assert.equal(text(andSelectors()), "all()");
  assert.equal(text(andSelectors(ALL_SELECTOR, a, ALL_SELECTOR)), 'a == "1"');
  assert.equal(
    text(andSelectors(andSelectors(a, b), parseSelector("c == '3'"))),
    '(a == "1" && has(b) && c == "3")',
  );
});

test("namespace scoping is one more conjunct", () => {
  const scoped = andSelectors(
    parseSelector("app == 'web'"),
    equalsSelector("projectcalico.org/namespace", "prod"),
  );
  assert.equal(text(scoped), '(app == "web" && projectcalico.org/namespace == "prod")');
  assert.equal(
    text(andSelectors(ALL_SELECTOR, equalsSelector("projectcalico.org/namespace", "p"))),
    'projectcalico.org/namespace == "p"',
  );
});

test("orSelectors flattens, absorbs all(), and is nothing when empty", () => {
  const a = equalsSelector("a", "1");
  assert.equal(
    text(orSelectors(a, orSelectors(hasSelector("b"), hasSelector("c")))),
    '(a == "1" || has(b) || has(c))',
  );
  assert.equal(text(orSelectors(a, ALL_SELECTOR)), "all()");
  assert.equal(text(orSelectors()), "!all()");
  assert.equal(compileSelector(orSelectors())({}), false);
  assert.equal(orSelectors(), NONE_SELECTOR);
});

test("notSelector cancels double negation", () => {
  const a = hasSelector("a");
  assert.equal(notSelector(notSelector(a)), a);
  assert.equal(text(notSelector(andSelectors(a, hasSelector("b")))), "!(has(a) && has(b))");
});

test("sets are sorted and deduplicated", () => {
  assert.equal(text(setSelector("notIn", "a", ["z", "b", "z"])), 'a not in {"b", "z"}');
});

test("keys and values the syntax cannot express are refused", () => {
  assert.throws(() => equalsSelector("a b", "x"), SelectorBuildError);
  assert.throws(() => equalsSelector("", "x"), SelectorBuildError);
  assert.throws(() => equalsSelector("a", `it's "x"`), SelectorBuildError);
  assert.equal(text(equalsSelector("a", 'say "x"')), `a == 'say "x"'`);
});

test("compiled predicates are shared by canonical form", () => {
  const p1 = compileSelector(parseSelector("a == 'x' && has(b)"));
  const p2 = compileSelector(andSelectors(equalsSelector("a", "x"), hasSelector("b")));
  assert.equal(p1, p2);
});
