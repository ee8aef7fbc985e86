// Tokenizer for Calico's selector syntax. Context-sensitive like Calico's: the operator words
// (`contains`, `starts with`, `ends with`, `in`, `not in`) are recognised only right after a
// label, where a second label can never follow, so the same words stay usable as label keys
// (`contains contains "x"`), and they may run into the next token (`label contains"v"`,
// `startswith`). Whitespace is space and tab only, as in Calico.
import { SelectorParseError } from "./errors.ts";

export type TokenKind =
  | "label"
  | "string"
  | "{"
  | "}"
  | ","
  | "=="
  | "!="
  | "!"
  | "in"
  | "not in"
  | "contains"
  | "starts with"
  | "ends with"
  | "all()"
  | "global()"
  | "has()"
  | "("
  | ")"
  | "&&"
  | "||"
  | "end";

export interface Token {
  readonly kind: TokenKind;
  /** Label key, string contents or `has()` key; empty otherwise. */
  readonly value: string;
  /** Offset of the token's first character in the selector text. */
  readonly start: number;
}

const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  "(": "(",
  ")": ")",
  "{": "{",
  "}": "}",
  ",": ",",
};

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t";
}

function isKeyChar(c: string): boolean {
  return (
    (c >= "a" && c <= "z") ||
    (c >= "A" && c <= "Z") ||
    (c >= "0" && c <= "9") ||
    c === "_" ||
    c === "." ||
    c === "/" ||
    c === "-"
  );
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const fail = (at: number, reason: string): never => {
    throw new SelectorParseError(text, at + 1, reason);
  };
  const skipSpace = (): void => {
    while (isSpace(text[pos])) pos++;
  };
  const keyEnd = (from: number): number => {
    let i = from;
    while (i < text.length && isKeyChar(text[i]!)) i++;
    return i;
  };
  // `word`, optional whitespace, then `second` (Calico accepts `startswith` and `starts  with`).
  const twoWords = (word: string, second: string, kind: TokenKind, start: number): boolean => {
    if (!text.startsWith(word, pos)) return false;
    pos += word.length;
    skipSpace();
    if (!text.startsWith(second, pos)) fail(pos, `expected "${second}" after "${word}"`);
    pos += second.length;
    tokens.push({ kind, value: "", start });
    return true;
  };
  // `name(` then optional whitespace, then for has() a key, then `)`.
  const call = (name: "all" | "global" | "has", start: number): void => {
    pos += name.length + 1;
    skipSpace();
    let value = "";
    if (name === "has") {
      const end = keyEnd(pos);
      if (end === pos) fail(pos, "expected a label key inside has()");
      value = text.slice(pos, end);
      pos = end;
      skipSpace();
    }
    if (text[pos] !== ")") fail(pos, `expected ")" to close ${name}(`);
    pos++;
    tokens.push({ kind: `${name}()`, value, start });
  };

  for (;;) {
    skipSpace();
    const start = pos;
    if (pos >= text.length) {
      tokens.push({ kind: "end", value: "", start });
      return tokens;
    }
    const c = text[pos]!;
    const punct = PUNCTUATION[c];
    if (punct !== undefined) {
      pos++;
      tokens.push({ kind: punct, value: "", start });
    } else if (c === '"' || c === "'") {
      const close = text.indexOf(c, pos + 1);
      if (close < 0) fail(start, "unterminated string");
      tokens.push({ kind: "string", value: text.slice(pos + 1, close), start });
      pos = close + 1;
    } else if (c === "=" || c === "&" || c === "|") {
      if (text[pos + 1] !== c) fail(start, `expected "${c}${c}"`);
      pos += 2;
      tokens.push({ kind: c === "=" ? "==" : c === "&" ? "&&" : "||", value: "", start });
    } else if (c === "!") {
      const ne = text[pos + 1] === "=";
      pos += ne ? 2 : 1;
      tokens.push({ kind: ne ? "!=" : "!", value: "", start });
    } else if (tokens.at(-1)?.kind === "label") {
      if (text.startsWith("contains", pos)) {
        pos += "contains".length;
        tokens.push({ kind: "contains", value: "", start });
      } else if (
        !twoWords("starts", "with", "starts with", start) &&
        !twoWords("ends", "with", "ends with", start) &&
        !twoWords("not", "in", "not in", start)
      ) {
        if (!text.startsWith("in", pos)) fail(start, "expected an operator after the label");
        pos += 2;
        tokens.push({ kind: "in", value: "", start });
      }
    } else if (text.startsWith("has(", pos)) {
      call("has", start);
    } else if (text.startsWith("all(", pos)) {
      call("all", start);
    } else if (text.startsWith("global(", pos)) {
      call("global", start);
    } else {
      const end = keyEnd(pos);
      if (end === pos) fail(start, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: "label", value: text.slice(pos, end), start });
      pos = end;
    }
  }
}
