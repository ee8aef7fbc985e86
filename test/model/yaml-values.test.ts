// The fast reader (js-yaml with the core schema's numbers) must give the same values as the
// `yaml` library, which reads every text the fast one refuses: one manifest, one meaning.
import assert from "node:assert/strict";
import { test } from "node:test";
import { load } from "js-yaml";
import { parse } from "yaml";
import { parseManifests } from "../../src/model/index.ts";
import { parseResource } from "../../src/model/resource.ts";
import { YAML_CORE_SCHEMA } from "../../src/model/yaml-schema.ts";

const SCALARS = `
octal: 0o17
notOctal: 0o8
signedOctal: -0o7
leadingZero: 017
hex: 0x1F
signedHex: +0x1F
binary: 0b101
exponent: 1e3
bigExponent: 1.5E+3
smallExponent: 1e-3
signed: +12
negativeZero: -0
fraction: -.5
leadingDot: +.5e3
trailingDot: 1.
underscores: 1_000
floatUnderscores: 685.230_15e+03
infinity: .inf
negativeInfinity: -.Inf
notANumber: .NaN
yes: yes
on: on
True: True
FALSE: FALSE
tilde: ~
empty:
date: 2026-01-01
time: 2026-01-01T10:00:00Z
<<: {merged: 1}
quoted: "8080"
`;

test("the fast reader and the yaml library read the same values", () => {
  const fast = load(SCALARS, { schema: YAML_CORE_SCHEMA }) as Record<string, unknown>;
  assert.deepEqual(fast, parse(SCALARS));
  // The spellings js-yaml 4 reads as YAML 1.1 without the schema, and the ones it misses.
  assert.deepEqual(
    [fast.binary, fast.signedHex, fast.signedOctal, fast.fraction, fast.leadingDot],
    ["0b101", "+0x1F", "-0o7", -0.5, 500],
  );
  assert.ok(Object.is(fast.negativeZero, -0));
});

test("a duplicate key is refused, with its line", () => {
  const result = parseManifests(
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nkind: Pod\n",
    "dup.yaml",
  );
  assert.equal(result.ok, false);
  assert.match(
    JSON.stringify(!result.ok && result.errors),
    /line 4, column 1: duplicate key \\"kind\\"/,
  );
});

test("nulls are unset at any depth; the input is not changed and the rest is shared", () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "a", creationTimestamp: null, labels: { app: "web" } },
    spec: { containers: [{ name: "c", ports: [{ containerPort: 80, hostIP: null }] }] },
    status: { conditions: [{ type: "Ready", lastProbeTime: null }], podIP: "198.18.0.1" },
  };
  const before = structuredClone(pod);
  const result = parseResource(pod);
  assert.ok(result.ok);
  const value = result.value as unknown as typeof pod;
  assert.deepEqual(pod, before);
  assert.equal("creationTimestamp" in value.metadata, false);
  assert.deepEqual(value.status.conditions, [{ type: "Ready" }]);
  assert.equal(value.spec.containers[0]!.ports[0]!.containerPort, 80);
  assert.equal("hostIP" in value.spec.containers[0]!.ports[0]!, false);
  assert.deepEqual(value.metadata.labels, { app: "web" });
});

test("a `__proto__` key with a null inside stays a key", () => {
  const input = JSON.parse(
    '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","annotations":{"x":"1"}},"status":{"__proto__":{"phase":null}}}',
  );
  const result = parseResource(input);
  assert.ok(result.ok);
  const status = (result.value as unknown as { status: object }).status;
  assert.deepEqual(Object.keys(status), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(status), Object.prototype);
});
