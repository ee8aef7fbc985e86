// What a selector needs an endpoint's labels to hold, as far as its shape tells: for each key
// either a set of allowed values or just presence. The index uses one of these as the
// selector's anchor, so only endpoints satisfying it are ever evaluated. Like Calico's label
// restrictions, with `!` pushed inward (De Morgan) so `!(a != "x")` still anchors on a=x.
import type { SelectorAst } from "./ast.ts";

/** key -> allowed values, or null when any value will do (the key must just be present). */
export type Requirements = Map<string, Set<string> | null>;

export function requirementsOf(ast: SelectorAst, negated = false): Requirements {
  switch (ast.kind) {
    case "eq":
    case "in":
      return negated ? new Map() : new Map([[ast.key, valuesOf(ast)]]);
    case "ne":
    case "notIn":
      return negated ? new Map([[ast.key, valuesOf(ast)]]) : new Map();
    case "has":
    case "contains":
    case "startsWith":
    case "endsWith":
      return negated ? new Map() : new Map([[ast.key, null]]);
    case "all":
    case "global":
      return new Map();
    case "not":
      return requirementsOf(ast.operand, !negated);
    case "and":
    case "or": {
      const parts = ast.operands.map((o) => requirementsOf(o, negated));
      // A negated conjunction is a disjunction of the negations, and the other way round.
      return (ast.kind === "and") !== negated ? conjoin(parts) : disjoin(parts);
    }
  }
}

function valuesOf(ast: { value: string } | { values: readonly string[] }): Set<string> {
  return new Set("values" in ast ? ast.values : [ast.value]);
}

// Every part must hold: requirements accumulate, value sets on one key intersect.
function conjoin(parts: Requirements[]): Requirements {
  const out: Requirements = new Map();
  for (const part of parts) {
    for (const [key, values] of part) {
      const prev = out.get(key);
      if (prev === undefined || prev === null) out.set(key, values);
      else if (values !== null) out.set(key, new Set([...prev].filter((v) => values.has(v))));
    }
  }
  return out;
}

// Some part holds: only keys every part requires survive, with the union of their values.
function disjoin(parts: Requirements[]): Requirements {
  const [first, ...rest] = parts;
  const out: Requirements = new Map(first);
  for (const [key, values] of out) {
    let union = values === null ? null : new Set(values);
    for (const part of rest) {
      const other = part.get(key);
      if (other === undefined) {
        out.delete(key);
        union = null;
        break;
      }
      if (other === null || union === null) union = null;
      else for (const v of other) union.add(v);
    }
    if (out.has(key)) out.set(key, union);
  }
  return out;
}
