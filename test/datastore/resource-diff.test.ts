// Two loads of the resource set -> the events between them, by resource key.

import assert from "node:assert/strict";
import { test } from "node:test";
import { byKey, diffResources } from "../../src/datastore/index.ts";
import { parseResource, type Resource } from "../../src/model/index.ts";

const ns = (name: string, labels: Record<string, string> = {}): Resource => {
  const parsed = parseResource({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
  assert.ok(parsed.ok);
  return parsed.value;
};

test("new and changed resources are upserts, missing ones deletes, equal ones nothing", () => {
  const before = byKey([ns("a"), ns("b"), ns("c", { team: "x" })]);
  const after = byKey([ns("a"), ns("c", { team: "y" }), ns("d")]);
  assert.deepEqual(diffResources(before, after, 7), [
    { type: "delete", key: "core/Namespace//b", revision: 7 },
    { type: "upsert", resource: ns("c", { team: "y" }), revision: 7 },
    { type: "upsert", resource: ns("d"), revision: 7 },
  ]);
  assert.deepEqual(diffResources(after, after, 8), []);
});
