// JSON input (`kubectl get -o json`) goes through JSON.parse, not the YAML reader: the same
// objects, and keys given twice still refused, naming the object, the path and the key.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dump } from "js-yaml";
import { parseManifests } from "../../src/model/index.ts";
import { duplicateKeys, mayRepeatKeys } from "../../src/model/json-keys.ts";

describe("duplicateKeys", () => {
  it("finds keys given twice at any depth, with the path of their object", () => {
    const text = `{"a": 1, "b": {"c": [{"x": 1}, {"x": 2, "y": {"z": 1, "z" : 2}}], "a": 3}, "a": 4}`;
    assert.deepEqual(duplicateKeys(text), [
      { path: ["b", "c", 1, "y"], key: "z" },
      { path: [], key: "a" },
    ]);
  });

  it("reads strings as JSON does: escapes, and braces, commas and colons inside them", () => {
    const text = String.raw`{"a\\": 1, "q": "x\"{,:[", "a\u005c": 2, "arr": ["{", ",", "}"], "k": {"a\\": 1}}`;
    assert.equal(Object.keys(JSON.parse(text)).length, 4, "JSON.parse keeps one a\\");
    assert.deepEqual(duplicateKeys(text), [{ path: [], key: "a\\" }]);
    assert.deepEqual(duplicateKeys(`["a", {"a": 1}, [{"b": 1, "a": {"b": 1}}]]`), []);
  });

  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 4 }),
    ),
  })).value;

  it("finds none in what JSON.stringify writes, and the one a text repeats", () => {
    fc.assert(
      fc.property(json, fc.string({ maxLength: 4 }), (value, key) => {
        const text = JSON.stringify(value, null, 2);
        assert.deepEqual(duplicateKeys(text), []);
        assert.equal(mayRepeatKeys(text, JSON.parse(text)), false, text);
        // The same key twice in a new object around the value.
        const k = JSON.stringify(key);
        const doubled = `{${k}: ${text}, "other": [${text}], ${k}: 1}`;
        assert.deepEqual(duplicateKeys(doubled), [{ path: [], key }]);
        assert.equal(mayRepeatKeys(doubled, JSON.parse(doubled)), true, doubled);
      }),
      { numRuns: 300 },
    );
  });
});

describe("mayRepeatKeys", () => {
  it("answers true, so the scanner decides, when a string overflows the expression's stack", () => {
    const text = JSON.stringify({ a: 'q\\"'.repeat(2_000_000), b: 1 });
    assert.equal(mayRepeatKeys(text, JSON.parse(text)), true);
    assert.deepEqual(duplicateKeys(text), []);
    assert.deepEqual(duplicateKeys(text.replace('"b"', '"a"')), [{ path: [], key: "a" }]);
  });
});

describe("JSON manifests", () => {
  const list = (items: unknown[]) => ({ apiVersion: "v1", kind: "List", items });
  const objects = list([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { team: "a" } } },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-0", namespace: "shop", labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }] },
      status: { phase: "Running", podIP: "198.18.0.1", podIPs: [{ ip: "198.18.0.1" }] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "db", namespace: "shop", annotations: null },
      spec: {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
      },
    },
  ]);

  it("loads the same objects as the same set written as YAML", () => {
    const fromJson = parseManifests(JSON.stringify(objects, null, 4), "dump.json");
    const fromYaml = parseManifests(dump(objects), "dump.yaml");
    assert.ok(fromJson.ok && fromYaml.ok);
    assert.equal(fromJson.resources.length, 3);
    assert.deepEqual(fromJson.resources, fromYaml.resources);
  });

  it("refuses a key given twice, naming the object, the path and the key, and loads nothing", () => {
    const text = JSON.stringify(objects, null, 2).replace(
      '"app": "web"\n                  }',
      '"app": "web",\n "app": "db"\n                  }',
    );
    assert.equal(
      JSON.parse(text).items[2].spec.ingress[0].from[0].podSelector.matchLabels.app,
      "db",
    );
    const result = parseManifests(text, "dump.json");
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors, [
      {
        code: "manifest.syntax",
        file: "dump.json",
        document: 1,
        kind: "NetworkPolicy",
        namespace: "shop",
        name: "db",
        path: "items[2].spec.ingress[0].from[0].podSelector.matchLabels",
        message: 'duplicate key "app"',
      },
    ]);
  });

  it("YAML names the object, the path and the key of a repeated key too, with line and column", () => {
    // The pod's label `app: web`, the first in the text, given twice.
    const text = dump(objects).replace(/( +)app: web\n/, "$1app: web\n$1app: db\n");
    assert.match(text, /app: web\n +app: db\n/);
    const result = parseManifests(text, "dump.yaml");
    assert.equal(result.ok, false);
    const [error, ...more] = result.ok ? [] : result.errors;
    assert.deepEqual(more, []);
    assert.deepEqual(
      { ...error, message: error?.message.replace(/line \d+, column \d+/, "line L, column C") },
      {
        code: "manifest.syntax",
        file: "dump.yaml",
        document: 1,
        kind: "Pod",
        namespace: "shop",
        name: "web-0",
        path: "items[1].metadata.labels",
        message: 'line L, column C: duplicate key "app"',
      },
    );
  });

  it("a text JSON.parse refuses is reported with line and column, as YAML is", () => {
    const result = parseManifests(
      '{"apiVersion": "v1", "kind": "Namespace",\n "metadata": {',
      "x.json",
    );
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.errors[0]!.message, /^line \d+, column \d+: /);
  });
});
