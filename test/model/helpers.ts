// Shared by the model tests: build variants of a valid object and compare issues exactly.
import assert from "node:assert/strict";
import { parseResource, type Resource } from "../../src/model/index.ts";

// biome-ignore lint/suspicious/noExplicitAny: test objects are edited freely, as YAML would be.
export type Draft = any;

/** A deep copy of `base` changed by `edit`, so each table row starts from a valid object. */
export function variant(base: Draft, edit: (draft: Draft) => void): Draft {
  const draft = structuredClone(base);
  edit(draft);
  return draft;
}

export function expectValid(input: unknown): Resource {
  const result = parseResource(input);
  assert.ok(result.ok, `expected valid, got ${JSON.stringify(!result.ok && result.issues)}`);
  return result.value;
}

/** Every issue, as `path: message`, in the order reported. */
export function expectIssues(input: unknown, expected: string[]): void {
  const result = parseResource(input);
  assert.ok(!result.ok, "expected issues, got a valid object");
  assert.deepEqual(
    result.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)),
    expected,
  );
}

export interface InvalidCase {
  readonly name: string;
  readonly input: Draft;
  readonly issues: string[];
}
