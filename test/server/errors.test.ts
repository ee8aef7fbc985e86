// The error catalogue is the API's contract: every code has a distinct reason, an HTTP status
// a client can act on, and a row in README's table; every store error maps onto one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DatastoreError, type DatastoreErrorCode } from "../../src/datastore/index.ts";
import { fromStoreError } from "../../src/server/errors.ts";
import { API_ERRORS } from "../../src/server/index.ts";

const README = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "..", "..", "README.md"),
  "utf8",
);

describe("API error catalogue", () => {
  for (const [code, entry] of Object.entries(API_ERRORS)) {
    it(`${code} is documented in README with status ${entry.status}`, () => {
      assert.ok(entry.doc.length > 20, `${code} has no real description`);
      const row = README.split("\n").find((l) => l.startsWith(`| \`${code}\` |`));
      assert.ok(row, `README has no row for ${code}`);
      assert.match(row, new RegExp(`^\\| \`${code}\` \\| ${entry.status} \\| `));
      assert.ok(row.includes(entry.doc), `README's row for ${code} differs from the catalogue`);
    });
  }

  it("reasons are distinct, statuses are 4xx or 5xx", () => {
    const reasons = Object.values(API_ERRORS).map((e) => e.reason);
    assert.equal(new Set(reasons).size, reasons.length);
    for (const e of Object.values(API_ERRORS))
      assert.ok(e.status >= 400 && e.status < 600, e.reason);
  });

  it("every store error code maps to a catalogue entry with the Kubernetes status", () => {
    const expected: Record<DatastoreErrorCode, number> = {
      NotFound: 404,
      AlreadyExists: 409,
      Conflict: 409,
      Invalid: 422,
      Expired: 410,
      Unavailable: 503,
    };
    for (const [code, status] of Object.entries(expected)) {
      const api = fromStoreError(new DatastoreError(code as DatastoreErrorCode, "x"));
      assert.equal(api.status, status, code);
      assert.equal(api.toStatus().code, status, code);
    }
  });
});
