// The pods' fast path (src/model/pod-fast.ts) against PodSchema, which stays the definition:
// whatever the fast path accepts, PodSchema accepts with the same output, key order included,
// and the dump's pods all take it (else it saves nothing). Mutations of real-looking pods at
// random paths probe every field it checks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { generateDump } from "../../bench/dump-gen.ts";
import { PodSchema } from "../../src/model/core.ts";
import { parseResource } from "../../src/model/index.ts";
import { fastPod } from "../../src/model/pod-fast.ts";

/** What parseResource hands the schemas: YAML's nulls removed (dumps have them in status). */
const withoutNulls = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_k, v) => (v === null ? undefined : v)));

const pods = generateDump({ pods: 60, policies: 0 })
  .filter((o) => (o as { kind?: string }).kind === "Pod")
  .map(withoutNulls);

/** The fast path's answer must be PodSchema's, byte for byte as JSON and as a value. */
function agrees(input: unknown): boolean {
  const fast = fastPod(input);
  if (fast === undefined) return false;
  const zod = PodSchema.safeParse(input);
  assert.ok(zod.success, `fast path accepted what PodSchema refuses: ${JSON.stringify(input)}`);
  assert.equal(JSON.stringify(fast), JSON.stringify(zod.data));
  assert.deepEqual(fast, zod.data);
  return true;
}

/** Every path to a value inside `value`, objects and arrays included. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const here = [at];
  if (Array.isArray(value)) return here.concat(...value.map((v, i) => paths(v, [...at, i])));
  if (typeof value === "object" && value !== null)
    return here.concat(...Object.entries(value).map(([k, v]) => paths(v, [...at, k])));
  return here;
}

const TRICKY: unknown[] = [
  "",
  "x",
  "Bad_Name",
  "bad..name",
  "a".repeat(64),
  "TCP",
  "tcp",
  "SCTP",
  "Running",
  "running",
  "v1",
  "198.18.0.7",
  "198.018.0.7",
  "fd00::1",
  "fd00::1%eth0",
  "http",
  "http--x",
  0,
  1,
  8080,
  65536,
  -1,
  1.5,
  Number.POSITIVE_INFINITY,
  true,
  false,
  [],
  {},
  ["x"],
  { a: "b" },
  { "example.com/key": "v" },
  { "bad key": "v" },
  { k: 1 },
];

type Mutation =
  | { op: "delete"; path: number }
  | { op: "set"; path: number; value: number }
  | { op: "add"; path: number; key: string; value: number }
  | { op: "proto"; path: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), path: fc.nat() }),
  fc.record({ op: fc.constant("set" as const), path: fc.nat(), value: fc.nat() }),
  fc.record({
    op: fc.constant("add" as const),
    path: fc.nat(),
    key: fc.constantFrom("name", "namespace", "ports", "protocol", "ip", "extra", "hostIP"),
    value: fc.nat(),
  }),
  fc.record({ op: fc.constant("proto" as const), path: fc.nat() }),
);

function mutate(pod: unknown, m: Mutation): unknown {
  const copy = structuredClone(pod);
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[m.path % all.length]!;
  let parent = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const target = parent[last];
  const tricky = (i: number) => structuredClone(TRICKY[i % TRICKY.length]);
  if (m.op === "delete") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (m.op === "set") parent[last] = tricky(m.value);
  else if (typeof target === "object" && target !== null && !Array.isArray(target)) {
    if (m.op === "add") (target as Record<string, unknown>)[m.key] = tricky(m.value);
    else Object.defineProperty(target, "__proto__", { value: 1, enumerable: true });
  }
  return copy;
}

describe("the pods' fast path", () => {
  it("takes every pod of a generated dump, with PodSchema's output", () => {
    assert.ok(pods.length >= 50);
    for (const pod of pods) assert.ok(agrees(pod), JSON.stringify(pod));
  });

  it("takes a hand-written pod PodSchema fills in (defaults: namespace, spec, protocol)", () => {
    const bare = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } };
    assert.ok(agrees(bare));
    assert.deepEqual(fastPod(bare)?.spec, { containers: [] });
    const ported = {
      ...bare,
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80 }] }] },
    };
    assert.ok(agrees(ported));
    assert.equal(fastPod(ported)?.spec.containers[0]?.ports?.[0]?.protocol, "TCP");
  });

  it("never accepts what PodSchema refuses, nor answers otherwise, under mutation", () => {
    let taken = 0;
    let left = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: pods.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (i, mutations) => {
          const input = mutations.reduce((p, m) => mutate(p, m), pods[i]);
          if (agrees(input)) taken++;
          else left++;
        },
      ),
      { numRuns: 3_000 },
    );
    // Both sides are exercised: mutations the fast path takes, and ones it leaves to zod.
    assert.ok(taken > 100 && left > 100, `taken ${taken}, left ${left}`);
  });

  it("leaves errors to PodSchema: parseResource words them as before", () => {
    const bad = { apiVersion: "v1", kind: "Pod", metadata: { name: "Bad_Name" } };
    assert.equal(fastPod(bad), undefined);
    const result = parseResource(bad);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.issues[0]?.path, "metadata.name");
  });
});
