// Duplicate keys in a JSON text, which JSON.parse keeps silently (the last one wins) while the
// YAML path refuses them. Two steps (measured in ARCHITECTURE.md, Offline speed): the keys the
// text writes are counted by one regular expression, about JSON.parse's own time, and compared
// with the keys of the parsed value; only when they differ does a scanner in JavaScript, twice
// as slow, find which object holds which key twice, with its path.

export interface DuplicateKey {
  /** Path of the object holding the key twice: `["items", 1, "metadata", "labels"]`. */
  readonly path: readonly (string | number)[];
  readonly key: string;
}

type Frame = { keys: Set<string>; key: string | undefined } | { index: number };

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/** The closing quote of the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let k = end - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    // An even run of backslashes before the quote escapes only themselves.
    if ((end - 1 - k) % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

function pathOf(stack: readonly Frame[]): (string | number)[] {
  const path: (string | number)[] = [];
  // The innermost frame is the object holding the duplicate; the others lead to it.
  for (const frame of stack.slice(0, -1)) path.push("index" in frame ? frame.index : frame.key!);
  return path;
}

/** Every string of a JSON text, with `:` after it when it is a key (unrolled: no nesting). */
const STRING = /"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?/g;

function keysWritten(text: string): number {
  let n = 0;
  STRING.lastIndex = 0;
  for (let m = STRING.exec(text); m !== null; m = STRING.exec(text)) if (m[1] !== undefined) n++;
  return n;
}

function keysParsed(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += keysParsed(item);
    return n;
  }
  if (value === null || typeof value !== "object") return 0;
  let n = 0;
  // JSON.parse's objects have no inherited enumerable keys, and for-in allocates nothing.
  for (const key in value) n += 1 + keysParsed((value as Record<string, unknown>)[key]);
  return n;
}

/**
 * False when `text` (which JSON.parse read as `value`) writes no key twice in one object:
 * every key it writes is one of the value's. True when it may: counts differ, or a string
 * of tens of megabytes overflowed the expression's stack.
 */
export function mayRepeatKeys(text: string, value: unknown): boolean {
  try {
    return keysWritten(text) !== keysParsed(value);
  } catch {
    return true;
  }
}

/** Every key that appears twice in one object of `text`, a text JSON.parse accepts. */
export function duplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const stack: Frame[] = [];
  let top: Frame | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      let j = end + 1;
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === COLON && top && "keys" in top) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) found.push({ path: pathOf(stack), key });
        else top.keys.add(key);
        top.key = key;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      top = { keys: new Set(), key: undefined };
      stack.push(top);
    } else if (c === OPEN_ARRAY) {
      top = { index: 0 };
      stack.push(top);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
      top = stack.at(-1);
    } else if (c === COMMA && top && "index" in top) {
      top.index++;
    }
  }
  return found;
}
