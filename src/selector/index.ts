// Public interface of the selector language: parse, print, compile, convert, index.
import type { Labels, SelectorAst } from "./ast.ts";
import { compileSelector, type Predicate } from "./compile.ts";
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

// Selector texts come from a bounded set of policies; the cap only guards against a caller
// feeding unbounded distinct strings.
const MAX_CACHED_TEXTS = 10_000;
const byText = new Map<string, Predicate>();

/** Parses (once per distinct text) and evaluates; throws SelectorParseError. */
export function selectorMatches(text: string, labels: Labels): boolean {
  let fn = byText.get(text);
  if (fn === undefined) {
    fn = compileSelector(parseSelector(text));
    if (byText.size >= MAX_CACHED_TEXTS) byText.clear();
    byText.set(text, fn);
  }
  return fn(labels);
}
