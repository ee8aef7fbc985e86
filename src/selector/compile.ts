// Compiles an AST once into a closure tree; evaluation then allocates nothing. Predicates are
// interned by canonical text, so every user of one selector shares one function; the intern
// table holds them weakly, so selectors that churn through a long-lived agent do not pile up.
import type { Labels, SelectorAst } from "./ast.ts";
import { canonicalSelector } from "./canonical.ts";
import { allOf, anyOf } from "./combinators.ts";

export type Predicate = (labels: Labels) => boolean;

const byText = new Map<string, WeakRef<Predicate>>();
const byAst = new WeakMap<SelectorAst, Predicate>();
const forget = new FinalizationRegistry<string>((text) => {
  if (byText.get(text)?.deref() === undefined) byText.delete(text);
});

export function compileSelector(ast: SelectorAst): Predicate {
  let fn = byAst.get(ast);
  if (fn === undefined) {
    const text = canonicalSelector(ast);
    fn = byText.get(text)?.deref();
    if (fn === undefined) {
      fn = build(ast);
      byText.set(text, new WeakRef(fn));
      forget.register(fn, text);
    }
    byAst.set(ast, fn);
  }
  return fn;
}

/**
 * The label's value, or undefined when absent. Reading `labels[key]` directly would see
 * Object.prototype (`constructor`, `toString` are valid label keys), so only strings count,
 * and `__proto__` needs the own-property route because the plain read hits the accessor.
 */
function valueGetter(key: string): (labels: Labels) => string | undefined {
  if (key === "__proto__") {
    return (labels) => {
      const v = Object.getOwnPropertyDescriptor(labels, key)?.value;
      return typeof v === "string" ? v : undefined;
    };
  }
  return (labels) => {
    const v = labels[key];
    return typeof v === "string" ? v : undefined;
  };
}

function build(ast: SelectorAst): Predicate {
  switch (ast.kind) {
    case "all":
    case "global":
      return () => true;
    case "has": {
      const get = valueGetter(ast.key);
      return (l) => get(l) !== undefined;
    }
    case "eq": {
      const { value } = ast;
      const get = valueGetter(ast.key);
      return (l) => get(l) === value;
    }
    case "ne": {
      const { value } = ast;
      const get = valueGetter(ast.key);
      return (l) => get(l) !== value;
    }
    case "contains": {
      const { value } = ast;
      const get = valueGetter(ast.key);
      return (l) => get(l)?.includes(value) === true;
    }
    case "startsWith": {
      const { value } = ast;
      const get = valueGetter(ast.key);
      return (l) => get(l)?.startsWith(value) === true;
    }
    case "endsWith": {
      const { value } = ast;
      const get = valueGetter(ast.key);
      return (l) => get(l)?.endsWith(value) === true;
    }
    case "in":
    case "notIn":
      return buildSet(ast.kind === "in", ast.key, ast.values);
    case "not": {
      const inner = compileSelector(ast.operand);
      return (l) => !inner(l);
    }
    case "and":
      return allOf(ast.operands.map(compileSelector));
    case "or":
      return anyOf(ast.operands.map(compileSelector));
  }
}

// Absent keys: `in` never matches, `not in` always does (Calico and Kubernetes agree).
function buildSet(positive: boolean, key: string, values: readonly string[]): Predicate {
  const get = valueGetter(key);
  if (values.length === 1) {
    const only = values[0]!;
    return positive ? (l) => get(l) === only : (l) => get(l) !== only;
  }
  const set = new Set(values);
  return positive
    ? (l) => {
        const v = get(l);
        return v !== undefined && set.has(v);
      }
    : (l) => {
        const v = get(l);
        return v === undefined || !set.has(v);
      };
}
