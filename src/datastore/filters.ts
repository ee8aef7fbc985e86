// List filters: a Kubernetes label selector string and a field selector on metadata.name and
// metadata.namespace, compiled once per list into one predicate. Bad text is Invalid, naming the
// parameter and (for label selectors) the column.
import { compileSelector, parseKubeSelectorText, SelectorParseError } from "../selector/index.ts";
import { DatastoreError, type StoredResource } from "./types.ts";

export type ObjectFilter = (r: StoredResource) => boolean;

const FIELDS: Readonly<Record<string, (r: StoredResource) => string>> = {
  "metadata.name": (r) => r.metadata.name,
  "metadata.namespace": (r) => r.metadata.namespace ?? "",
};

function invalid(path: string, message: string): DatastoreError {
  return new DatastoreError("Invalid", `${path}: ${message}`, [
    { code: "manifest.field", path, message },
  ]);
}

function labelFilter(text: string): ObjectFilter {
  try {
    const matches = compileSelector(parseKubeSelectorText(text));
    return (r) => matches(r.metadata.labels ?? {});
  } catch (e) {
    if (e instanceof SelectorParseError) {
      throw invalid("labelSelector", `${e.reason} at column ${e.column}`);
    }
    throw e;
  }
}

const FIELD_REQUIREMENT = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/;

function fieldFilter(text: string): ObjectFilter {
  const tests: ObjectFilter[] = [];
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const m = FIELD_REQUIREMENT.exec(part);
    if (!m) throw invalid("fieldSelector", `"${part}" is not FIELD=VALUE or FIELD!=VALUE`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const read = FIELDS[field];
    if (!read) {
      throw invalid(
        "fieldSelector",
        `field "${field}" is not supported (only ${Object.keys(FIELDS).join(", ")})`,
      );
    }
    tests.push(op === "!=" ? (r) => read(r) !== value : (r) => read(r) === value);
  }
  return (r) => tests.every((t) => t(r));
}

export function listFilter(opts: {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
}): ObjectFilter {
  const byLabel = opts.labelSelector ? labelFilter(opts.labelSelector) : undefined;
  const byField = opts.fieldSelector ? fieldFilter(opts.fieldSelector) : undefined;
  if (byLabel && byField) return (r) => byLabel(r) && byField(r);
  return byLabel ?? byField ?? (() => true);
}
