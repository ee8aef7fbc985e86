// A reader for the plain block YAML that `kubectl get -o yaml` and other dumpers write: block
// mappings and sequences (sequences under a key at its indentation or deeper), one-line plain,
// single- and double-quoted scalars, `{}` and `[]`, documents split by `---` lines. It exists
// for speed: js-yaml walks the text a character at a time through a general state machine,
// about 0.5 s of CPU for a 15 MB dump, most of a cold `validate`. Anything else (comments,
// blank lines, anchors, tags, block scalars, flow collections, multi-line scalars, tabs, CR,
// `__proto__` or a repeated key, characters YAML refuses) answers undefined, and the text goes
// to js-yaml as before, so every error is still reported there. Scalars resolve through the
// same schema types js-yaml uses (yaml-schema.ts), so the values are js-yaml's;
// test/model/yaml-fast.test.ts compares both on generated and mutated texts.
import { YAML_IMPLICIT_TYPES } from "./yaml-schema.ts";

type Plain = Record<string, unknown>;

const LEAVE = Symbol("leave the fast reader");

function leave(): never {
  throw LEAVE;
}

/** js-yaml refuses these anywhere; tab and CR are outside this reader's subset. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job.
const REFUSED = /[\x00-\x09\x0B-\x1F\x7F-\x9F\u2028\u2029\uD800-\uDFFF\uFEFF\uFFFE\uFFFF]/;

const SPACE = 32;
const DASH = 45;
const COLON = 58;
const QUOTE = 39;
const DOUBLE_QUOTE = 34;

/** A plain mapping key's characters as dumpers write them (label keys, field names). */
function isKeyChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 || // _
    c === 46 || // .
    c === 47 || // /
    c === DASH
  );
}

/**
 * The scalar a plain text resolves to: js-yaml's implicit types in js-yaml's order. Only `~`,
 * words of four or five letters (null, true, false) and texts starting with a digit, sign or
 * dot (numbers) can resolve to anything but a string, so the others skip the types.
 */
function plainValue(text: string): unknown {
  const n = text.length;
  const c = text.charCodeAt(0);
  const numeric = (c >= 48 && c <= 57) || c === 43 || c === DASH || c === 46;
  if (!numeric && n !== 1 && n !== 4 && n !== 5) return text;
  for (const type of YAML_IMPLICIT_TYPES) {
    if (type.resolve(text)) return type.construct(text);
  }
  return text;
}

/** Characters a plain scalar may not start with (indicators); `-` is checked apart. */
const INDICATORS = new Set([..."?:,[]{}#&*!|>'\"%@`"].map((c) => c.charCodeAt(0)));

/** A plain scalar value in block context, on one line. */
function plainScalar(text: string): unknown {
  const c = text.charCodeAt(0);
  if (INDICATORS.has(c)) leave();
  // `-` alone or before a space starts a sequence, which cannot stand here.
  if (c === DASH && (text.length === 1 || text.charCodeAt(1) === SPACE)) leave();
  if (text.includes(": ") || text.includes(" #") || text.charCodeAt(text.length - 1) === COLON)
    leave();
  return plainValue(text);
}

/** `'...'` whole on the line, with `''` for a quote. */
function singleQuoted(text: string): string {
  if (text.length < 2 || text.charCodeAt(text.length - 1) !== QUOTE) leave();
  const inner = text.slice(1, -1);
  if (inner.replaceAll("''", "").includes("'")) leave();
  return inner.replaceAll("''", "'");
}

/** `"..."` whole on the line; JSON's escapes are a subset of YAML's with the same meanings. */
function doubleQuoted(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    leave();
  }
  if (typeof value !== "string") leave();
  return value;
}

/** A value written on the key's or dash's line. */
function inlineValue(text: string): unknown {
  const first = text.charCodeAt(0);
  if (first === QUOTE) return singleQuoted(text);
  if (first === DOUBLE_QUOTE) return doubleQuoted(text);
  if (text === "{}") return {};
  if (text === "[]") return [];
  return plainScalar(text);
}

class Reader {
  /** The current line: [start, end) of its text, its indentation; -1 past the document. */
  private start = 0;
  private end = 0;
  indent = -1;
  /** The document ended at a `---` line rather than at the text's end. */
  separated = false;
  /** Set by `entry`: the key, and [restStart, restEnd) of what follows `key:` on the line. */
  private key = "";
  private restStart = 0;
  private restEnd = 0;

  constructor(
    private readonly text: string,
    private next: number,
  ) {
    this.advance();
  }

  /** Past the document's last line. */
  get ended(): boolean {
    return this.indent === -1;
  }

  /** Where the next document starts, after this one's `---`. */
  get following(): number {
    return this.next;
  }

  /** Moves to the next line; a `---` line (or the text's end) ends the document. */
  private advance(): void {
    const { text } = this;
    if (this.next >= text.length) {
      this.indent = -1;
      return;
    }
    const start = this.next;
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    this.next = end + 1;
    let i = start;
    while (i < end && text.charCodeAt(i) === SPACE) i++;
    if (i === end || text.charCodeAt(i) === 35) leave(); // blank or comment line
    if (i === start && (text.startsWith("---", start) || text.startsWith("...", start))) {
      if (end - start !== 3 || text.charCodeAt(start) !== DASH) leave();
      this.indent = -1;
      this.separated = true;
      return;
    }
    this.start = i;
    this.end = end;
    this.indent = i - start;
  }

  private isItem(): boolean {
    const { text, start, end } = this;
    return (
      text.charCodeAt(start) === DASH && (start + 1 === end || text.charCodeAt(start + 1) === SPACE)
    );
  }

  /** The node whose first line is the current one, at its indentation. */
  block(): unknown {
    return this.isItem() ? this.sequence(this.indent) : this.mapping(this.indent, this.start);
  }

  /**
   * The value after `key:` or `-` with nothing on its line: a block on deeper lines, after a
   * key also a sequence at the key's own indentation (as kubectl writes them), else null.
   */
  private nested(indent: number, afterKey: boolean): unknown {
    this.advance();
    if (this.indent > indent) return this.block();
    if (afterKey && this.indent === indent && this.isItem()) return this.sequence(indent);
    return null;
  }

  /** A one-line value; a deeper line after it would continue it (or be an error): not ours. */
  private inline(from: number, to: number, indent: number): unknown {
    const value = inlineValue(this.text.slice(from, to));
    this.advance();
    if (this.indent > indent) leave();
    return value;
  }

  /**
   * Mapping entries at `indent`, the first starting at `from` on the current line (after a
   * dash for `- name: x`, whose column is then `indent`).
   */
  private mapping(indent: number, from: number): Plain {
    const out: Plain = {};
    for (;;) {
      this.entry(from, this.end);
      const key = this.key;
      if (key === "__proto__" || Object.hasOwn(out, key)) leave();
      out[key] =
        this.restStart === this.restEnd
          ? this.nested(indent, true)
          : this.inline(this.restStart, this.restEnd, indent);
      if (this.indent !== indent || this.isItem()) break;
      from = this.start;
    }
    if (this.indent > indent) leave();
    return out;
  }

  /** Sequence items at `indent`. */
  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.indent === indent && this.isItem()) {
      const { text, start, end } = this;
      let i = start + 1;
      while (i < end && text.charCodeAt(i) === SPACE) i++;
      if (i === end) {
        out.push(this.nested(indent, false));
        continue;
      }
      let j = end;
      while (j > i && text.charCodeAt(j - 1) === SPACE) j--;
      if (text.charCodeAt(i) === DASH && (i + 1 === j || text.charCodeAt(i + 1) === SPACE)) leave(); // a sequence in a sequence on one line
      if (this.isEntry(i, j)) out.push(this.mapping(indent + (i - start), i));
      else out.push(this.inline(i, j, indent));
    }
    if (this.indent > indent) leave();
    return out;
  }

  /** Whether [from, to) begins a mapping: `key: ...` or `key:`, the key plain or quoted. */
  private isEntry(from: number, to: number): boolean {
    const { text } = this;
    const first = text.charCodeAt(from);
    let k: number;
    if (first === QUOTE || first === DOUBLE_QUOTE) {
      k = text.indexOf(text[from]!, from + 1) + 1;
      if (k <= 0 || k >= to) return false;
    } else {
      k = from;
      while (k < to && isKeyChar(text.charCodeAt(k))) k++;
      if (k === from) return false;
    }
    return (
      k < to && text.charCodeAt(k) === COLON && (k + 1 === to || text.charCodeAt(k + 1) === SPACE)
    );
  }

  /**
   * Reads `key: rest` in [from, to) into `key` (as js-yaml makes it: resolved, then a string)
   * and the rest's bounds (empty for `key:`), trailing spaces left out.
   */
  private entry(from: number, to: number): void {
    const { text } = this;
    const first = text.charCodeAt(from);
    let colon: number;
    if (first === QUOTE || first === DOUBLE_QUOTE) {
      colon = text.indexOf(text[from]!, from + 1) + 1;
      if (colon <= 0 || colon >= to || text.charCodeAt(colon) !== COLON) leave();
      const quoted = text.slice(from, colon);
      this.key = first === QUOTE ? singleQuoted(quoted) : doubleQuoted(quoted);
    } else {
      // The first character as a plain key's: no `.`, `/` or `-` (a sign) first.
      if (first === 46 || first === 47 || first === DASH) leave();
      colon = from;
      while (colon < to && isKeyChar(text.charCodeAt(colon))) colon++;
      if (colon === from || colon === to || text.charCodeAt(colon) !== COLON) leave();
      const plain = text.slice(from, colon);
      this.key = String(plainValue(plain));
    }
    let i = colon + 1;
    if (i < to && text.charCodeAt(i) !== SPACE) leave();
    while (i < to && text.charCodeAt(i) === SPACE) i++;
    let j = to;
    while (j > i && text.charCodeAt(j - 1) === SPACE) j--;
    this.restStart = i;
    this.restEnd = j;
  }
}

/** The documents of a text in the subset above, as js-yaml's loadAll gives them; else undefined. */
export function fastYamlDocuments(text: string): unknown[] | undefined {
  if (REFUSED.test(text)) return undefined;
  const documents: unknown[] = [];
  try {
    // A leading `---` opens the first document rather than closing an empty one.
    let at = text.startsWith("---\n") ? 4 : 0;
    for (;;) {
      const reader = new Reader(text, at);
      if (reader.indent !== 0) leave(); // an empty or indented document
      documents.push(reader.block());
      if (!reader.ended) leave();
      if (!reader.separated) break;
      at = reader.following;
      // A `---` closing the text opens an empty document, which js-yaml reads as null.
      if (at >= text.length) {
        documents.push(null);
        break;
      }
    }
  } catch (error) {
    if (error === LEAVE) return undefined;
    throw error;
  }
  return documents;
}
