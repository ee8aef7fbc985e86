// The selector AST and the builders that keep it in shape. Every AST built here has canonical
// text that parses back to itself: keys are valid label keys, values never hold both quote
// characters (Calico's syntax has no escapes), `in` sets are sorted and deduplicated, double
// negation is gone and nested `&&`/`||` are flattened (both are associative).
import { internalize } from "../util/intern.ts";
import { SelectorBuildError } from "./errors.ts";

export type Labels = Readonly<Record<string, string>>;

/** A label's value; on an ordinary object `labels.__proto__` reads the prototype, not the label. */
export function ownValue(labels: Labels, key: string): string {
  return key === "__proto__" ? Object.getOwnPropertyDescriptor(labels, key)!.value : labels[key]!;
}

/** Operators comparing one label's value with one literal. */
export type ValueOp = "eq" | "ne" | "contains" | "startsWith" | "endsWith";

export type SelectorAst =
  | { readonly kind: "all" }
  /**
   * `global()`: true on any label set, as in Calico. Its meaning lives one level up: as a
   * namespaceSelector it scopes a rule to non-namespaced endpoints (host endpoints, global
   * network sets), which the policy layer expresses as `!has(projectcalico.org/namespace)`.
   * Kept as its own node so it prints back as written.
   */
  | { readonly kind: "global" }
  | { readonly kind: "has"; readonly key: string }
  | { readonly kind: ValueOp; readonly key: string; readonly value: string }
  | { readonly kind: "in" | "notIn"; readonly key: string; readonly values: readonly string[] }
  | { readonly kind: "not"; readonly operand: SelectorAst }
  | { readonly kind: "and" | "or"; readonly operands: readonly SelectorAst[] };

const LABEL_KEY = /^[A-Za-z0-9_./-]+$/;

export function isLabelKey(key: string): boolean {
  return LABEL_KEY.test(key);
}

/** Whether `value` can be written as a selector string literal. */
export function isQuotable(value: string): boolean {
  return !(value.includes('"') && value.includes("'"));
}

function checkKey(key: string): void {
  if (!isLabelKey(key)) {
    throw new SelectorBuildError(`label key ${JSON.stringify(key)} is not valid in a selector`);
  }
}

function checkValue(value: string): void {
  if (!isQuotable(value)) {
    throw new SelectorBuildError(
      `label value ${JSON.stringify(value)} holds both quote characters; selectors cannot express it`,
    );
  }
}

export const ALL_SELECTOR: SelectorAst = Object.freeze({ kind: "all" });
export const GLOBAL_SELECTOR: SelectorAst = Object.freeze({ kind: "global" });
/** Matches nothing; the selector syntax has no literal for it, so it is `!all()`. */
export const NONE_SELECTOR: SelectorAst = Object.freeze({ kind: "not", operand: ALL_SELECTOR });

export function hasSelector(key: string): SelectorAst {
  checkKey(key);
  return { kind: "has", key };
}

export function valueSelector(kind: ValueOp, key: string, value: string): SelectorAst {
  checkKey(key);
  checkValue(value);
  return { kind, key, value: internalize(value) };
}

export function equalsSelector(key: string, value: string): SelectorAst {
  return valueSelector("eq", key, value);
}

export function setSelector(
  kind: "in" | "notIn",
  key: string,
  values: Iterable<string>,
): SelectorAst {
  checkKey(key);
  const sorted = [...new Set(values)].sort(compareStrings).map(internalize);
  for (const v of sorted) checkValue(v);
  return { kind, key, values: sorted };
}

/** Code-unit order, the same on every platform (localeCompare is not). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function notSelector(s: SelectorAst): SelectorAst {
  return s.kind === "not" ? s.operand : { kind: "not", operand: s };
}

/** Structural `&&`: flattens nested conjunctions, keeps every operand (the parser's view). */
export function andNode(parts: readonly SelectorAst[]): SelectorAst {
  return junction("and", parts);
}

/** Structural `||`: flattens nested disjunctions, keeps every operand (the parser's view). */
export function orNode(parts: readonly SelectorAst[]): SelectorAst {
  return junction("or", parts);
}

function junction(kind: "and" | "or", parts: readonly SelectorAst[]): SelectorAst {
  const operands: SelectorAst[] = [];
  for (const p of parts) {
    if (p.kind === kind) operands.push(...p.operands);
    else operands.push(p);
  }
  if (operands.length === 0) return kind === "and" ? ALL_SELECTOR : NONE_SELECTOR;
  if (operands.length === 1) return operands[0]!;
  return { kind, operands };
}

/** Conjunction for composing selectors: `all()` operands vanish, nesting is flattened. */
export function andSelectors(...parts: SelectorAst[]): SelectorAst {
  return andNode(parts.filter((p) => p.kind !== "all"));
}

/** Disjunction for composing selectors: any `all()` operand makes the whole `all()`. */
export function orSelectors(...parts: SelectorAst[]): SelectorAst {
  if (parts.some((p) => p.kind === "all")) return ALL_SELECTOR;
  return orNode(parts);
}
