// Calico's own selector test tables (transcribed in the shared corpus) must pass unchanged.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  canonicalSelector,
  compileSelector,
  parseSelector,
  SelectorParseError,
} from "../../src/selector/index.ts";

interface Corpus {
  matches: {
    selector: string;
    matches: Record<string, string>[];
    nonMatches: Record<string, string>[];
  }[];
  invalid: string[];
  canonical: { input: string; expected: string }[];
}

const corpusUrl = new URL("../../../shared/corpus/calico-selectors.json", import.meta.url);
const corpus = JSON.parse(readFileSync(corpusUrl, "utf8")) as Corpus;

describe("calico corpus: matches", () => {
  corpus.matches.forEach((c, i) => {
    test(`#${i} ${JSON.stringify(c.selector)}`, () => {
      const matches = compileSelector(parseSelector(c.selector));
      for (const labels of c.matches) {
        assert.ok(
          matches(labels),
          `${JSON.stringify(c.selector)} should match ${JSON.stringify(labels)}`,
        );
      }
      for (const labels of c.nonMatches) {
        assert.ok(
          !matches(labels),
          `${JSON.stringify(c.selector)} should not match ${JSON.stringify(labels)}`,
        );
      }
    });
  });
});

describe("calico corpus: invalid", () => {
  for (const text of corpus.invalid) {
    test(JSON.stringify(text), () => {
      assert.throws(
        () => parseSelector(text),
        (e: unknown) => e instanceof SelectorParseError && e.selector === text,
        `${JSON.stringify(text)} should be a SelectorParseError`,
      );
    });
  }
});

describe("calico corpus: canonical", () => {
  for (const { input, expected } of corpus.canonical) {
    test(`${JSON.stringify(input)} -> ${expected}`, () => {
      assert.equal(
        canonicalSelector(parseSelector(input)),
        expected,
        `printing ${JSON.stringify(input)}`,
      );
      assert.equal(
        canonicalSelector(parseSelector(expected)),
        expected,
        `round trip of ${expected}`,
      );
    });
  }
});
