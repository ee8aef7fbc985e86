// Canonical text, Calico's printing: `&&`/`||` groups always in parentheses (so no precedence
// knowledge is needed to read one back), `!` glued to its operand, double quotes unless the
// value holds a double quote, `in` sets sorted. Equal selectors print equal, which makes the
// text the interning key for compiled predicates and the index. Hand-built ASTs that skipped
// the builders (nested same-kind groups, double negation, unsorted sets) print normalised too.
import { compareStrings, type SelectorAst } from "./ast.ts";

const VALUE_OP_TEXT = {
  eq: " == ",
  ne: " != ",
  contains: " contains ",
  startsWith: " starts with ",
  endsWith: " ends with ",
} as const;

const printed = new WeakMap<SelectorAst, string>();

export function canonicalSelector(ast: SelectorAst): string {
  let text = printed.get(ast);
  if (text === undefined) {
    text = print(ast);
    printed.set(ast, text);
  }
  return text;
}

function print(ast: SelectorAst): string {
  switch (ast.kind) {
    case "all":
      return "all()";
    case "global":
      return "global()";
    case "has":
      return `has(${ast.key})`;
    case "eq":
    case "ne":
    case "contains":
    case "startsWith":
    case "endsWith":
      return ast.key + VALUE_OP_TEXT[ast.kind] + quote(ast.value);
    case "in":
    case "notIn":
      return `${ast.key} ${ast.kind === "in" ? "in" : "not in"} {${sortedSet(ast.values).map(quote).join(", ")}}`;
    case "not":
      return ast.operand.kind === "not"
        ? canonicalSelector(ast.operand.operand)
        : `!${canonicalSelector(ast.operand)}`;
    case "and":
    case "or": {
      const operands = flatten(ast.kind, ast.operands);
      if (operands.length === 0) return ast.kind === "and" ? "all()" : "!all()";
      if (operands.length === 1) return canonicalSelector(operands[0]!);
      return `(${operands.map(canonicalSelector).join(ast.kind === "and" ? " && " : " || ")})`;
    }
  }
}

function flatten(kind: "and" | "or", operands: readonly SelectorAst[]): readonly SelectorAst[] {
  if (!operands.some((o) => o.kind === kind)) return operands;
  return operands.flatMap((o) => (o.kind === kind ? flatten(kind, o.operands) : [o]));
}

function sortedSet(values: readonly string[]): readonly string[] {
  for (let i = 1; i < values.length; i++) {
    if (compareStrings(values[i - 1]!, values[i]!) >= 0)
      return [...new Set(values)].sort(compareStrings);
  }
  return values;
}

function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}
