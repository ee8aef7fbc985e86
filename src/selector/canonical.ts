// Canonical text, Calico's printing: `&&`/`||` groups always in parentheses (so no precedence
// knowledge is needed to read one back), `!` glued to its operand, double quotes unless the
// value holds a double quote, `in` sets sorted. Equal selectors print equal, which makes the
// text the interning key for compiled predicates and the index. Hand-built ASTs that skipped
// the builders (nested same-kind groups, double negation, unsorted sets) are normalised first,
// so the text always parses back to itself.
import { andNode, notSelector, orNode, type SelectorAst, setSelector } from "./ast.ts";

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
    text = print(normalize(ast));
    printed.set(ast, text);
  }
  return text;
}

/** The shape the parser itself produces for the same meaning-preserving text. */
function normalize(ast: SelectorAst): SelectorAst {
  switch (ast.kind) {
    case "in":
    case "notIn":
      return setSelector(ast.kind, ast.key, ast.values);
    case "not":
      return notSelector(normalize(ast.operand));
    case "and":
    case "or": {
      const operands = ast.operands.map(normalize);
      return ast.kind === "and" ? andNode(operands) : orNode(operands);
    }
    default:
      return ast;
  }
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
      return `${ast.key} ${ast.kind === "in" ? "in" : "not in"} {${ast.values.map(quote).join(", ")}}`;
    case "not":
      return `!${print(ast.operand)}`;
    case "and":
    case "or":
      return `(${ast.operands.map(print).join(ast.kind === "and" ? " && " : " || ")})`;
  }
}

function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}
