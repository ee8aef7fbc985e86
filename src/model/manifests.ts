// Manifest text to a validated set: YAML (multi-document) or JSON, List expansion, and the
// set-level rules: every error collected, any error rejects the whole set, no object twice.
// Pure; reading files is load.ts.
import { loadAll } from "js-yaml";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import type { ManifestError } from "./errors.ts";
import { formatPath } from "./issues.ts";
import { duplicateKeys, mayRepeatKeys } from "./json-keys.ts";
import { DEFAULT_NAMESPACE } from "./meta.ts";
import { lookupKind, type Resource } from "./registry.ts";
import { isPlainObject, isSkippableKind, type PlainObject, parseResource } from "./resource.ts";
import { checkResourceSet, type SetWarning } from "./validate.ts";
import { fastYamlDocuments } from "./yaml-fast.ts";
import { YAML_CORE_SCHEMA } from "./yaml-schema.ts";

export type LoadResult =
  | {
      readonly ok: true;
      readonly resources: Resource[];
      readonly warnings: readonly SetWarning[];
    }
  | { readonly ok: false; readonly errors: ManifestError[] };

/** A document (or List item) ready to validate, with where it came from. */
interface Candidate {
  readonly value: unknown;
  readonly file: string;
  readonly document: number;
  /** Path of a List item inside its document, `items[3]`; "" otherwise. */
  readonly prefix: string;
}

export interface LoadOptions {
  /** Unknown kinds are errors rather than skipped with a warning. */
  readonly strict?: boolean;
  /**
   * kubectl's `-n`: the namespace of namespaced objects that name none, and an error for one
   * that names another (kubectl refuses it rather than move the object).
   */
  readonly namespace?: string;
}

/** Validated objects and errors, gathered over any number of files before `finishSet`. */
export interface Collected {
  readonly options: LoadOptions;
  /** `apiVersion kind` -> how many objects of it were skipped. */
  readonly skipped: Map<string, number>;
  readonly entries: {
    readonly resource: Resource;
    readonly file: string;
    readonly document: number;
  }[];
  readonly errors: ManifestError[];
}

export function newCollected(options: LoadOptions = {}): Collected {
  return { options, skipped: new Map(), entries: [], errors: [] };
}

/** A kind that cannot change a verdict, skipped (and counted) unless loading is strict. */
function skip(candidate: Candidate, out: Collected): boolean {
  if (out.options.strict || !isPlainObject(candidate.value)) return false;
  const { apiVersion, kind } = candidate.value;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !apiVersion || !kind) {
    return false;
  }
  if (!isSkippableKind(apiVersion, kind, candidate.value)) return false;
  const key = `${kind} (${apiVersion})`;
  out.skipped.set(key, (out.skipped.get(key) ?? 0) + 1);
  return true;
}

function isListKind(doc: PlainObject): doc is PlainObject & { kind: string } {
  return typeof doc.kind === "string" && doc.kind.endsWith("List") && "items" in doc;
}

/** `kind: List` and typed lists (`NetworkPolicyList`, as calicoctl writes) become their items. */
function expandList(doc: PlainObject, file: string, document: number, out: Collected): Candidate[] {
  if (!Array.isArray(doc.items)) {
    out.errors.push({
      code: "manifest.shape",
      file,
      document,
      kind: doc.kind as string,
      path: "items",
      message: "must be a list",
    });
    return [];
  }
  // Typed lists may leave kind and apiVersion off their items; they are the list's.
  const itemKind = doc.kind === "List" ? undefined : (doc.kind as string).slice(0, -"List".length);
  return doc.items.map((item, i) => ({
    value:
      isPlainObject(item) && itemKind !== undefined
        ? { apiVersion: doc.apiVersion, kind: itemKind, ...item }
        : item,
    file,
    document,
    prefix: `items[${i}]`,
  }));
}

function locate(candidate: Candidate): Pick<ManifestError, "kind" | "namespace" | "name"> {
  if (!isPlainObject(candidate.value)) return {};
  const { apiVersion, kind, metadata } = candidate.value;
  const meta = isPlainObject(metadata) ? metadata : {};
  const info =
    typeof apiVersion === "string" && typeof kind === "string"
      ? lookupKind(apiVersion, kind)
      : undefined;
  const namespace =
    typeof meta.namespace === "string"
      ? meta.namespace
      : info?.namespaced
        ? DEFAULT_NAMESPACE
        : undefined;
  return {
    ...(typeof kind === "string" && kind ? { kind } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(typeof meta.name === "string" && meta.name ? { name: meta.name } : {}),
  };
}

/** The candidate with `-n`'s namespace filled in, or an error when it names another one. */
function inNamespace(candidate: Candidate, out: Collected): Candidate | undefined {
  const namespace = out.options.namespace;
  const value = candidate.value;
  if (namespace === undefined || !isPlainObject(value)) return candidate;
  const { apiVersion, kind } = value;
  const info =
    typeof apiVersion === "string" && typeof kind === "string"
      ? lookupKind(apiVersion, kind)
      : undefined;
  if (!info?.namespaced) return candidate;
  const metadata = isPlainObject(value.metadata) ? value.metadata : {};
  if (metadata.namespace === undefined || metadata.namespace === null) {
    return { ...candidate, value: { ...value, metadata: { ...metadata, namespace } } };
  }
  if (metadata.namespace === namespace) return candidate;
  out.errors.push({
    ...locate(candidate),
    code: "manifest.namespace",
    path: candidate.prefix ? `${candidate.prefix}.metadata.namespace` : "metadata.namespace",
    message: `the namespace from the provided object "${String(metadata.namespace)}" does not match the namespace "${namespace}" (-n): pass -n ${String(metadata.namespace)} or remove it from the object`,
    file: candidate.file,
    document: candidate.document,
  });
  return undefined;
}

function validate(original: Candidate, out: Collected): void {
  if (skip(original, out)) return;
  const candidate = inNamespace(original, out);
  if (!candidate) return;
  const result = parseResource(candidate.value);
  if (result.ok) {
    out.entries.push({
      resource: result.value,
      file: candidate.file,
      document: candidate.document,
    });
    return;
  }
  const where = locate(candidate);
  for (const issue of result.issues) {
    const path =
      candidate.prefix && issue.path
        ? `${candidate.prefix}.${issue.path}`
        : candidate.prefix || issue.path;
    out.errors.push({
      ...issue,
      ...where,
      path,
      file: candidate.file,
      document: candidate.document,
    });
  }
}

/**
 * A text that is one JSON value (`kubectl get -o json`), read by JSON.parse, about five times
 * faster than the YAML reader on a dump; undefined for any other text (YAML, or JSON that
 * JSON.parse refuses, whose errors the YAML path reports with line and column). Keys given
 * twice, which JSON.parse would keep silently (the last wins), are errors naming the object,
 * the path to the key and the key, as the YAML path refuses them too.
 */
function collectJson(text: string, file: string, out: Collected): boolean {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return false;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  const duplicates = mayRepeatKeys(text, value) ? duplicateKeys(text) : [];
  if (duplicates.length === 0) {
    collectDocument(value, file, 1, out);
    return true;
  }
  for (const { path, key } of duplicates) {
    out.errors.push({
      ...locate(objectAt(value, path, file)),
      code: "manifest.syntax",
      file,
      document: 1,
      path: formatPath(path),
      message: `duplicate key ${JSON.stringify(key)}`,
    });
  }
  return true;
}

/** The object a path into a JSON value lies in: a List's item, an array's element, the value. */
function objectAt(value: unknown, path: readonly (string | number)[], file: string): Candidate {
  const whole = { value, file, document: 1, prefix: "" };
  if (Array.isArray(value) && typeof path[0] === "number")
    return { ...whole, value: value[path[0]] };
  if (isPlainObject(value) && isListKind(value) && Array.isArray(value.items)) {
    if (path[0] === "items" && typeof path[1] === "number")
      return { ...whole, value: value.items[path[1]] };
  }
  return whole;
}

/** Parses one file's text (YAML, multi-document, or JSON) into `out`. */
export function collectText(text: string, file: string, out: Collected): void {
  if (collectJson(text, file, out)) return;
  // Dumps in plain block YAML take the fast reader; any other text, js-yaml.
  const documents = fastYamlDocuments(text) ?? fastDocuments(text);
  if (!documents) {
    collectDocumentsWithErrors(text, file, out);
    return;
  }
  documents.forEach((value, i) => {
    collectDocument(value, file, i + 1, out);
  });
}

/**
 * js-yaml reads a 15 MB dump about ten times faster than the \`yaml\` library, and with the YAML
 * 1.2 core schema gives the same values (no merge keys, no timestamps, duplicate keys refused),
 * so a text it reads whole is taken from it. It stops at the first error of the whole stream,
 * though, and the \`yaml\` library reports each document's own errors with line and column: a
 * text it refuses is read again there. The 4.x line: 5.x builds an event list of the whole
 * stream first, twice the peak memory and slower on a dump. Its numbers are the spec's
 * (yaml-schema.ts).
 */
function fastDocuments(text: string): unknown[] | undefined {
  try {
    return loadAll(text, null, { schema: YAML_CORE_SCHEMA });
  } catch {
    return undefined;
  }
}

function collectDocument(value: unknown, file: string, document: number, out: Collected): void {
  if (value === null || value === undefined) return; // empty document, e.g. a trailing `---`
  const candidates =
    isPlainObject(value) && isListKind(value)
      ? expandList(value, file, document, out)
      : [{ value, file, document, prefix: "" }];
  for (const c of candidates) validate(c, out);
}

function collectDocumentsWithErrors(text: string, file: string, out: Collected): void {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs)) return; // an empty stream
  docs.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      const repeated = repeatedKeys(doc.contents);
      for (const e of doc.errors) {
        const { line, col } = lines.linePos(e.pos[0]);
        const at = e.code === "DUPLICATE_KEY" ? repeated.get(e.pos[0]) : undefined;
        out.errors.push({
          ...(at ? locateIn(doc, at.path, file) : {}),
          code: "manifest.syntax",
          file,
          document,
          path: at ? formatPath(at.path) : "",
          message: `line ${line}, column ${col}: ${at ? `duplicate key ${JSON.stringify(at.key)}` : e.message.split("\n")[0]}`,
        });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (error) {
      out.errors.push({
        code: "manifest.syntax",
        file,
        document,
        path: "",
        message: String(error),
      });
      return;
    }
    collectDocument(value, file, document, out);
  });
}

/**
 * The keys a YAML document repeats, by the offset the parser reports them at: the path of the
 * map holding each and the key, so the error names the object, the field and the key.
 */
function repeatedKeys(root: Node | null): Map<number, { path: (string | number)[]; key: string }> {
  const found = new Map<number, { path: (string | number)[]; key: string }>();
  const walk = (node: unknown, path: (string | number)[]) => {
    if (isSeq(node)) for (const [i, item] of node.items.entries()) walk(item, [...path, i]);
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const offset = (pair.key as Node).range?.[0];
      if (seen.has(key) && offset !== undefined) found.set(offset, { path, key });
      seen.add(key);
      walk(pair.value, [...path, key]);
    }
  };
  walk(root, []);
  return found;
}

/** Where a path into a document lies: its object (a List's item), as locate names it. */
function locateIn(
  doc: { toJS(): unknown },
  path: readonly (string | number)[],
  file: string,
): Pick<ManifestError, "kind" | "namespace" | "name"> {
  try {
    return locate(objectAt(doc.toJS(), path, file));
  } catch {
    return {};
  }
}

function skippedWarnings(skipped: ReadonlyMap<string, number>): SetWarning[] {
  return [...skipped].sort().map(([kind, n]) => ({
    code: "manifest.skipped-kind",
    message: `skipped ${n} ${n === 1 ? "object" : "objects"} of kind ${kind}: not read by microseg (--strict makes this an error)`,
  }));
}

/** The set-level verdict (see validate.ts): any error rejects every object. */
export function finishSet(collected: Collected): LoadResult {
  const errors = [...collected.errors];
  const { entries } = collected;
  const set = checkResourceSet(entries.map((e) => e.resource));
  for (const { index, firstIndex, ...issue } of set.issues) {
    const { file, document } = entries[index]!;
    const first = firstIndex !== undefined ? entries[firstIndex] : undefined;
    errors.push({
      ...issue,
      ...(first ? { message: `duplicate of ${first.file}#${first.document}` } : {}),
      file,
      document,
    });
  }
  return errors.length > 0
    ? { ok: false, errors }
    : {
        ok: true,
        resources: entries.map((e) => e.resource),
        warnings: [...skippedWarnings(collected.skipped), ...set.warnings],
      };
}

/** Parses and validates one text as a complete set; `source` names it in errors. */
export function parseManifests(
  text: string,
  source: string,
  options: LoadOptions = {},
): LoadResult {
  const out = newCollected(options);
  collectText(text, source, out);
  return finishSet(out);
}
