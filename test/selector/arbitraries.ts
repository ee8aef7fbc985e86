// fast-check generators shared by the selector property tests, plus a reference evaluator that
// reads the semantics straight off the AST (no compilation, no caching) to check against.
import fc from "fast-check";
import type { Labels, SelectorAst, ValueOp } from "../../src/selector/index.ts";

// Small pools so that random selectors and random labels actually meet. Keys include
// operator words and Object.prototype names, which must behave as plain keys.
export const KEYS = [
  "a",
  "b",
  "app",
  "app.kubernetes.io/name",
  "calico/k8s_NS-.1/role",
  "contains",
  "in",
  "has",
  "constructor",
] as const;
export const VALUES = ["", "x", "y", "web", "a b", "it's", 'say "hi"', "!", "{}"] as const;

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const valueOp = fc.constantFrom<ValueOp>("eq", "ne", "contains", "startsWith", "endsWith");

export const leafArb: fc.Arbitrary<SelectorAst> = fc.oneof(
  fc.constant<SelectorAst>({ kind: "all" }),
  fc.constant<SelectorAst>({ kind: "global" }),
  key.map((k): SelectorAst => ({ kind: "has", key: k })),
  fc.tuple(valueOp, key, value).map(([kind, k, v]): SelectorAst => ({ kind, key: k, value: v })),
  fc
    .tuple(fc.constantFrom("in" as const, "notIn" as const), key, fc.array(value, { maxLength: 4 }))
    .map(([kind, k, values]): SelectorAst => ({ kind, key: k, values })),
);

/** Hand-built ASTs: unsorted sets, nested same-kind groups, double negation all allowed. */
export const astArb: fc.Arbitrary<SelectorAst> = fc.letrec<{ node: SelectorAst }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    tie("node").map((operand): SelectorAst => ({ kind: "not", operand })),
    fc
      .tuple(
        fc.constantFrom("and" as const, "or" as const),
        fc.array(tie("node"), { minLength: 2, maxLength: 4 }),
      )
      .map(([kind, operands]): SelectorAst => ({ kind, operands })),
  ),
})).node;

export const labelsArb: fc.Arbitrary<Labels> = fc.dictionary(key, value, { maxKeys: 5 });

export function evaluate(ast: SelectorAst, labels: Labels): boolean {
  const get = (k: string) => (Object.hasOwn(labels, k) ? labels[k] : undefined);
  switch (ast.kind) {
    case "all":
    case "global":
      return true;
    case "has":
      return get(ast.key) !== undefined;
    case "eq":
      return get(ast.key) === ast.value;
    case "ne":
      return get(ast.key) !== ast.value;
    case "contains":
      return get(ast.key)?.includes(ast.value) ?? false;
    case "startsWith":
      return get(ast.key)?.startsWith(ast.value) ?? false;
    case "endsWith":
      return get(ast.key)?.endsWith(ast.value) ?? false;
    case "in": {
      const v = get(ast.key);
      return v !== undefined && ast.values.includes(v);
    }
    case "notIn": {
      const v = get(ast.key);
      return v === undefined || !ast.values.includes(v);
    }
    case "not":
      return !evaluate(ast.operand, labels);
    case "and":
      return ast.operands.every((o) => evaluate(o, labels));
    case "or":
      return ast.operands.some((o) => evaluate(o, labels));
  }
}
