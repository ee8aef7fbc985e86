// Which label keys a selector reads. A selector's verdict depends on the values (or absence) of
// these keys alone, so two label sets that agree on them are matched alike.
import type { SelectorAst } from "./ast.ts";

export function addSelectorKeys(ast: SelectorAst, into: Set<string>): void {
  switch (ast.kind) {
    case "all":
    case "global":
      return;
    case "not":
      addSelectorKeys(ast.operand, into);
      return;
    case "and":
    case "or":
      for (const operand of ast.operands) addSelectorKeys(operand, into);
      return;
    default:
      into.add(ast.key);
  }
}
