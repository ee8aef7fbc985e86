// Kubernetes label selector text, as `kubectl get -l` and `?labelSelector=` take it:
// comma-joined requirements `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
// It parses into the same AST as Calico selectors, so one compiler evaluates both. `!=` and
// `notin` match objects without the key (Kubernetes semantics). Keys and values are checked
// against Kubernetes' label syntax; errors carry the 1-based column.
import {
  ALL_SELECTOR,
  andSelectors,
  equalsSelector,
  hasSelector,
  notSelector,
  type SelectorAst,
  setSelector,
  valueSelector,
} from "./ast.ts";
import { SelectorParseError } from "./errors.ts";

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SPECIAL = new Set(["!", "=", "(", ")", ",", "<", ">"]);

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

function keyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key prefix "${prefix}" must be a DNS subdomain`;
    }
  }
  if (name.length > 63 || !NAME.test(name)) {
    return `label key "${key}" must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

function valueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return `label value "${value}" must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Parses Kubernetes label selector text; "" selects everything. Throws SelectorParseError. */
export function parseKubeSelectorText(text: string): SelectorAst {
  let pos = 0;
  const fail = (at: number, reason: string): never => {
    throw new SelectorParseError(text, at + 1, reason);
  };
  const skipSpace = (): void => {
    while (isSpace(text[pos])) pos++;
  };
  /** A run of non-special, non-space characters: a key, a value or an operator word. */
  const word = (): { text: string; start: number } => {
    skipSpace();
    const start = pos;
    while (pos < text.length && !isSpace(text[pos]) && !SPECIAL.has(text[pos]!)) pos++;
    return { text: text.slice(start, pos), start };
  };
  const key = (): string => {
    const k = word();
    if (k.text === "") fail(k.start, "expected a label key");
    const problem = keyProblem(k.text);
    if (problem) fail(k.start, problem);
    return k.text;
  };
  const value = (): string => {
    const v = word();
    const problem = valueProblem(v.text);
    if (problem) fail(v.start, problem);
    return v.text;
  };
  const valueSet = (): string[] => {
    skipSpace();
    if (text[pos] !== "(") fail(pos, "expected '(' after the set operator");
    pos++;
    const values: string[] = [];
    for (;;) {
      values.push(value());
      skipSpace();
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      if (text[pos] === ")") {
        pos++;
        break;
      }
      fail(pos, "expected ',' or ')' in the value set");
    }
    if (values.length === 1 && values[0] === "") fail(pos - 1, "the value set must not be empty");
    return values;
  };
  const requirement = (): SelectorAst => {
    skipSpace();
    if (text[pos] === "!" && text[pos + 1] !== "=") {
      pos++;
      return notSelector(hasSelector(key()));
    }
    const k = key();
    skipSpace();
    const c = text[pos];
    if (pos >= text.length || c === ",") return hasSelector(k);
    if (c === "=") {
      pos += text[pos + 1] === "=" ? 2 : 1;
      return equalsSelector(k, value());
    }
    if (c === "!" && text[pos + 1] === "=") {
      pos += 2;
      return valueSelector("ne", k, value());
    }
    if (c === "<" || c === ">") return fail(pos, `operator ${c} is not supported`);
    const op = word();
    if (op.text === "in") return setSelector("in", k, valueSet());
    if (op.text === "notin") return setSelector("notIn", k, valueSet());
    return fail(op.start, `expected an operator (=, ==, !=, in, notin), ',' or the end`);
  };

  skipSpace();
  if (pos >= text.length) return ALL_SELECTOR;
  const parts: SelectorAst[] = [];
  for (;;) {
    parts.push(requirement());
    skipSpace();
    if (pos >= text.length) break;
    if (text[pos] !== ",") fail(pos, "expected ',' between requirements");
    pos++;
  }
  return andSelectors(...parts);
}
