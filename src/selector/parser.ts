// Recursive descent over the tokens, lowest precedence first: `||`, then `&&`, then a possibly
// negated operation. As in Calico, a run of leading `!` binds tighter than any comparison but
// negates the whole operation after it (`!a == "b"` is `!(a == "b")`), and an empty or blank
// selector is `all()`.
import {
  ALL_SELECTOR,
  andNode,
  GLOBAL_SELECTOR,
  hasSelector,
  notSelector,
  orNode,
  type SelectorAst,
  setSelector,
  type ValueOp,
  valueSelector,
} from "./ast.ts";
import { SelectorParseError } from "./errors.ts";
import { type Token, type TokenKind, tokenize } from "./lexer.ts";

// Deep enough for any real selector, shallow enough that recursion never exhausts the stack.
const MAX_DEPTH = 256;

const VALUE_OPS: Partial<Record<TokenKind, ValueOp>> = {
  "==": "eq",
  "!=": "ne",
  contains: "contains",
  "starts with": "startsWith",
  "ends with": "endsWith",
};

// Policies repeat selector texts (a peer in one is the subject of another; a namespace's
// policies share their scoping): at the engine bench's cold start most parses were repeats.
// ASTs are immutable, so one is shared by every caller of its text. The cap only guards
// against a caller feeding unbounded distinct strings; errors are not cached.
const MAX_CACHED_TEXTS = 20_000;
const parsed = new Map<string, SelectorAst>();

export function parseSelector(text: string): SelectorAst {
  let ast = parsed.get(text);
  if (ast === undefined) {
    ast = new Parser(text).parseRoot();
    if (parsed.size >= MAX_CACHED_TEXTS) parsed.clear();
    parsed.set(text, ast);
  }
  return ast;
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parseRoot(): SelectorAst {
    if (this.peek().kind === "end") return ALL_SELECTOR;
    const ast = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== "end")
      this.fail(rest, `unexpected ${describe(rest)} after a complete selector`);
    return ast;
  }

  private parseOr(): SelectorAst {
    const parts = [this.parseAnd()];
    while (this.peek().kind === "||") {
      this.pos++;
      parts.push(this.parseAnd());
    }
    return orNode(parts);
  }

  private parseAnd(): SelectorAst {
    const parts = [this.parseOperation()];
    while (this.peek().kind === "&&") {
      this.pos++;
      parts.push(this.parseOperation());
    }
    return andNode(parts);
  }

  private parseOperation(): SelectorAst {
    let negated = false;
    while (this.peek().kind === "!") {
      negated = !negated;
      this.pos++;
    }
    const op = this.parsePositive();
    return negated ? notSelector(op) : op;
  }

  private parsePositive(): SelectorAst {
    const tok = this.next();
    switch (tok.kind) {
      case "has()":
        return hasSelector(tok.value);
      case "all()":
        return ALL_SELECTOR;
      case "global()":
        return GLOBAL_SELECTOR;
      case "label":
        return this.parseComparison(tok.value);
      case "(":
        return this.parseGroup(tok);
      default:
        return this.fail(
          tok,
          `expected a label, has(), all(), global(), "!" or "(" but found ${describe(tok)}`,
        );
    }
  }

  private parseGroup(open: Token): SelectorAst {
    if (++this.depth > MAX_DEPTH) this.fail(open, `parentheses nested deeper than ${MAX_DEPTH}`);
    const inner = this.parseOr();
    const close = this.next();
    if (close.kind !== ")") this.fail(close, `expected ")" but found ${describe(close)}`);
    this.depth--;
    return inner;
  }

  private parseComparison(key: string): SelectorAst {
    const op = this.next();
    const valueOp = VALUE_OPS[op.kind];
    if (valueOp !== undefined) return valueSelector(valueOp, key, this.expectString());
    if (op.kind === "in" || op.kind === "not in") {
      return setSelector(op.kind === "in" ? "in" : "notIn", key, this.parseSet());
    }
    return this.fail(op, `expected an operator after label "${key}" but found ${describe(op)}`);
  }

  // `{` then strings separated by commas, then `}`; a trailing comma is allowed, as in Calico.
  private parseSet(): string[] {
    const open = this.next();
    if (open.kind !== "{")
      this.fail(open, `expected "{" to start a set but found ${describe(open)}`);
    const values: string[] = [];
    while (this.peek().kind === "string") {
      values.push(this.next().value);
      if (this.peek().kind !== ",") break;
      this.pos++;
    }
    const close = this.next();
    if (close.kind !== "}")
      this.fail(close, `expected a string or "}" but found ${describe(close)}`);
    return values;
  }

  private expectString(): string {
    const tok = this.next();
    if (tok.kind !== "string")
      this.fail(tok, `expected a quoted string but found ${describe(tok)}`);
    return tok.value;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const tok = this.tokens[this.pos]!;
    if (tok.kind !== "end") this.pos++;
    return tok;
  }

  private fail(tok: Token, reason: string): never {
    throw new SelectorParseError(this.text, tok.start + 1, reason);
  }
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case "end":
      return "the end of the selector";
    case "label":
      return `label "${tok.value}"`;
    case "string":
      return `string ${JSON.stringify(tok.value)}`;
    default:
      return `"${tok.kind}"`;
  }
}
