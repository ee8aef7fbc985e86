// Public interface of the selector language: parse, print, compile, convert, index.
import type { Labels, SelectorAst } from "./ast.ts";
import { compileSelector } from "./compile.ts";
import { SelectorParseError } from "./errors.ts";
import { parseSelector } from "./parser.ts";

export type { Labels, SelectorAst, ValueOp } from "./ast.ts";
export {
  ALL_SELECTOR,
  andSelectors,
  equalsSelector,
  GLOBAL_SELECTOR,
  hasSelector,
  NONE_SELECTOR,
  notSelector,
  orSelectors,
  ownValue,
  setSelector,
  valueSelector,
} from "./ast.ts";
export { canonicalSelector } from "./canonical.ts";
export { compileSelector, type Predicate } from "./compile.ts";
export { LabelSelectorError, SelectorBuildError, SelectorParseError } from "./errors.ts";
export { addSelectorKeys } from "./keys.ts";
export { parseKubeSelectorText } from "./kube-selector-text.ts";
export { LabelIndex, type MatchListener } from "./label-index.ts";
export {
  fromLabelSelector,
  type LabelSelector,
  type LabelSelectorRequirement,
} from "./label-selector.ts";
export { parseSelector } from "./parser.ts";

export function tryParseSelector(
  text: string,
): { ok: true; value: SelectorAst } | { ok: false; error: SelectorParseError } {
  try {
    return { ok: true, value: parseSelector(text) };
  } catch (error) {
    if (error instanceof SelectorParseError) return { ok: false, error };
    throw error;
  }
}

/**
 * Parses and evaluates; throws SelectorParseError. Both steps are cached (`parseSelector` by
 * text, `compileSelector` by AST), so a text met again costs two lookups.
 */
export function selectorMatches(text: string, labels: Labels): boolean {
  return compileSelector(parseSelector(text))(labels);
}
