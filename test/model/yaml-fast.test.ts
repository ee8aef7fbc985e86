// The fast YAML reader (src/model/yaml-fast.ts) against js-yaml with the same schema, which
// stays the definition: whatever the fast reader reads, js-yaml reads to the same values (key
// order included) and never refuses; a cluster dump takes it (else it saves nothing); and a
// text it leaves goes to js-yaml, errors included. Texts are dumps of random values as js-yaml
// and kubectl write them, then mutated at random places with YAML's sharp characters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dump, loadAll } from "js-yaml";
import { dumpList, generateDump } from "../../bench/dump-gen.ts";
import { parseManifests } from "../../src/model/index.ts";
import { fastYamlDocuments } from "../../src/model/yaml-fast.ts";
import { YAML_CORE_SCHEMA } from "../../src/model/yaml-schema.ts";

const reference = (text: string): unknown[] | undefined => {
  try {
    return loadAll(text, null, { schema: YAML_CORE_SCHEMA });
  } catch {
    return undefined;
  }
};

/** The fast reader's answer, checked against js-yaml's; true when it read the text. */
function agrees(text: string): boolean {
  const fast = fastYamlDocuments(text);
  if (fast === undefined) return false;
  const slow = reference(text);
  assert.ok(slow !== undefined, `read what js-yaml refuses: ${JSON.stringify(text)}`);
  assert.equal(JSON.stringify(fast), JSON.stringify(slow), text);
  assert.deepEqual(fast, slow, text);
  return true;
}

const KUBECTL = { noRefs: true, lineWidth: -1, noArrayIndent: true } as const;

/** Keys and scalars near YAML's edges: numbers, booleans, nulls, indicators, quotes. */
const word = fc.oneof(
  fc.constantFrom(
    "app",
    "x",
    "a.b/c",
    "80",
    "0x1F",
    "0o17",
    "1e3",
    "-1",
    "+1",
    ".5",
    "-.5",
    ".inf",
    "true",
    "False",
    "null",
    "~",
    "",
    "y",
    "no",
    "0b101",
    "1_000",
    "a: b",
    "a #b",
    "#a",
    "- a",
    "-a",
    "it's",
    'say "hi"',
    "a\\b",
    "[a]",
    "{a}",
    "*a",
    "&a",
    "!a",
    "|",
    ">",
    "@a",
    "%a",
    "?",
    "a:",
    " a",
    "a ",
    "\u00e9t\u00e9",
    "2026-11-30T08:15:42Z",
    "__proto__",
  ),
  fc.string({ maxLength: 6 }),
);

const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    word,
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(word, tie("node"), { maxKeys: 4 }),
  ),
})).node;

const SHARP = [
  ":",
  " ",
  "-",
  "#",
  "'",
  '"',
  "\n",
  "\n  ",
  "\n- ",
  "---\n",
  "\t",
  "\r",
  "{",
  "[",
  "&a ",
  "*a",
  "!t ",
  "|",
  ">",
  "? ",
  "\\",
];

describe("the fast YAML reader", () => {
  it("reads a generated cluster dump as js-yaml does", () => {
    const text = dump(dumpList(generateDump({ pods: 40, policies: 10 })), KUBECTL);
    assert.ok(agrees(text), "the dump took the fast path");
    assert.ok(agrees(`---\n${text}---\n${text}`), "documents split by ---");
    assert.ok(agrees(`${text}---\n`), "a closing --- (an empty document: null)");
  });

  it("reads what js-yaml's dumper writes, in kubectl's style and its own, identically", () => {
    let taken = 0;
    fc.assert(
      fc.property(value, fc.boolean(), (v, kubectl) => {
        const text = dump(v, kubectl ? KUBECTL : {});
        if (agrees(text)) taken++;
      }),
      { numRuns: 2_000 },
    );
    assert.ok(taken > 100, `taken ${taken}`);
  });

  it("never reads a text js-yaml refuses or reads otherwise, under mutation", () => {
    const base = fc
      .tuple(fc.dictionary(word, value, { minKeys: 1, maxKeys: 4 }), fc.boolean())
      .map(([v, kubectl]) => dump(v, kubectl ? KUBECTL : {}));
    let taken = 0;
    let left = 0;
    fc.assert(
      fc.property(
        base,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...SHARP)), {
          minLength: 1,
          maxLength: 3,
        }),
        (text, edits) => {
          let t = text;
          for (const [at, op, piece] of edits) {
            const i = at % (t.length + 1);
            if (op === 0) t = t.slice(0, i) + piece + t.slice(i);
            else if (op === 1) t = t.slice(0, i) + t.slice(i + 1);
            else t = t.slice(0, i) + piece + t.slice(i + piece.length);
          }
          if (agrees(t)) taken++;
          else left++;
        },
      ),
      { numRuns: 4_000 },
    );
    assert.ok(taken > 200 && left > 200, `taken ${taken}, left ${left}`);
  });

  it("leaves repeated keys to js-yaml, so the error names the key as before", () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    app: a\n    app: b\n";
    assert.equal(fastYamlDocuments(text), undefined);
    const result = parseManifests(text, "pod.yaml");
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.errors[0]!.message, /duplicate key "app"/);
  });

  it("leaves comments, blank lines, anchors and block scalars to js-yaml", () => {
    for (const text of [
      "a: 1 # c\n",
      "# c\na: 1\n",
      "a: 1\n\nb: 2\n",
      "a: &x 1\nb: *x\n",
      "a: |\n  text\n",
      "a: [1, 2]\n",
      "a: !!str 1\n",
      "a:\n  b\n",
    ]) {
      assert.equal(fastYamlDocuments(text), undefined, text);
      assert.ok(reference(text) !== undefined, text);
    }
  });
});
