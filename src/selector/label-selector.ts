// Kubernetes metav1.LabelSelector -> the same AST as Calico selectors, so one compiler and one
// index serve both. Conjunction of every matchLabels pair and every matchExpression; `{}`
// selects everything. NotIn and DoesNotExist match endpoints without the key (Kubernetes
// semantics, which `not in` and `!has` share).
import {
  andSelectors,
  equalsSelector,
  hasSelector,
  isLabelKey,
  isQuotable,
  notSelector,
  type SelectorAst,
  setSelector,
} from "./ast.ts";
import { LabelSelectorError } from "./errors.ts";

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[] | null;
}

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirement[] | null;
}

export function fromLabelSelector(ls: LabelSelector): SelectorAst {
  const parts: SelectorAst[] = [];
  for (const [key, value] of Object.entries(ls.matchLabels ?? {})) {
    const path = `matchLabels.${key}`;
    checkKey(key, path);
    checkValue(value, path);
    parts.push(equalsSelector(key, value));
  }
  (ls.matchExpressions ?? []).forEach((req, i) => {
    parts.push(fromRequirement(req, `matchExpressions[${i}]`));
  });
  return andSelectors(...parts);
}

function fromRequirement(req: LabelSelectorRequirement, path: string): SelectorAst {
  checkKey(req.key, `${path}.key`);
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
    case "NotIn": {
      if (values.length === 0) {
        throw new LabelSelectorError(
          `${path}.values`,
          `operator ${req.operator} needs at least one value`,
        );
      }
      values.forEach((v, j) => {
        checkValue(v, `${path}.values[${j}]`);
      });
      return setSelector(req.operator === "In" ? "in" : "notIn", req.key, values);
    }
    case "Exists":
    case "DoesNotExist": {
      if (values.length > 0) {
        throw new LabelSelectorError(`${path}.values`, `operator ${req.operator} takes no values`);
      }
      const has = hasSelector(req.key);
      return req.operator === "Exists" ? has : notSelector(has);
    }
    default:
      throw new LabelSelectorError(
        `${path}.operator`,
        `unknown operator ${JSON.stringify(req.operator)} (expected In, NotIn, Exists or DoesNotExist)`,
      );
  }
}

function checkKey(key: unknown, path: string): asserts key is string {
  if (typeof key !== "string" || !isLabelKey(key)) {
    throw new LabelSelectorError(path, `invalid label key ${JSON.stringify(key)}`);
  }
}

function checkValue(value: unknown, path: string): asserts value is string {
  if (typeof value !== "string" || !isQuotable(value)) {
    throw new LabelSelectorError(path, `invalid label value ${JSON.stringify(value)}`);
  }
}
