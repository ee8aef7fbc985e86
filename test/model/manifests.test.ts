// Manifest sets: files, directories, multi-document YAML, JSON, Lists; every error reported with
// where it is; any error or duplicate rejects the whole set; and the validate command.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  formatManifestError,
  type LoadResult,
  loadManifests,
  MANIFEST_ERROR_CODES,
  parseManifests,
  resourceKey,
} from "../../src/model/index.ts";

const fixtures = fileURLToPath(new URL("fixtures", import.meta.url));
const CILIUM_REFUSED =
  "CiliumNetworkPolicy (cilium.io/v2) is not supported: ignoring a policy would enforce less than written; policy kinds accepted: networking.k8s.io/v1 NetworkPolicy, policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy, policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy, policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy, microseg.io/v1 NetworkPolicy, microseg.io/v1 GlobalNetworkPolicy, microseg.io/v1 StagedNetworkPolicy, microseg.io/v1 StagedGlobalNetworkPolicy, microseg.io/v1 StagedKubernetesNetworkPolicy";
const repo = fileURLToPath(new URL("../..", import.meta.url));

function formatted(result: LoadResult): string[] {
  assert.ok(!result.ok, "expected the set to be rejected");
  assert.ok(!("resources" in result), "a rejected set returns no resources");
  return result.errors.map(formatManifestError);
}

function keys(result: LoadResult): string[] {
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors.map(formatManifestError)));
  return result.resources.map(resourceKey);
}

describe("loadManifests", () => {
  test("a directory, recursively: YAML, multi-document, JSON, List, Calico; other files skipped", async () => {
    assert.deepEqual(keys(await loadManifests([`${fixtures}/set`])), [
      "microseg.io/Tier//security",
      "microseg.io/GlobalNetworkSet//internet",
      "microseg.io/GlobalNetworkPolicy//security.blue-ldap",
      "networking.k8s.io/NetworkPolicy/shop/web-ingress",
      "core/Namespace//shop",
      "core/Namespace//blue",
      "core/Pod/blue/ldap-server",
    ]);
  });

  test("files and directories together; a path given twice counts once", async () => {
    const result = await loadManifests([
      `${fixtures}/pod-dump.yaml`,
      `${fixtures}/set/workloads.yaml`,
      `${fixtures}/set`,
    ]);
    assert.equal(keys(result).length, 8);
  });

  test("every error of every file, in order, and nothing loaded; a named file may have any extension", async () => {
    const result = await loadManifests([
      `${fixtures}/invalid/bad.yaml`,
      `${fixtures}/invalid/syntax.txt`,
      `${fixtures}/missing.yaml`,
    ]);
    assert.deepEqual(
      formatted(result).map((line) => line.replace(`${fixtures}/`, "")),
      [
        "invalid/bad.yaml#2 NetworkPolicy prod/web: spec.ingress[0].ports[1].port: must be 1-65535 or a port name",
        "invalid/bad.yaml#3 Tier Security: metadata.name: must be a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
        "invalid/bad.yaml#3 Tier Security: spec.defaultAction: must be one of Deny, Pass",
        `invalid/bad.yaml#4 CiliumNetworkPolicy w: ${CILIUM_REFUSED}`,
        "invalid/syntax.txt#2: line 10, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
        "missing.yaml: no such file or directory",
      ],
    );
  });

  test("the same object twice is an error, even under Calico's apiVersion", async () => {
    const result = await loadManifests([`${fixtures}/duplicates`]);
    assert.deepEqual(formatted(result), [
      `${fixtures}/duplicates/b.yaml#1 NetworkPolicy default/allow-web: duplicate of ${fixtures}/duplicates/a.yaml#2`,
    ]);
  });
});

describe("parseManifests", () => {
  test("errors carry code, file, document, object and path as data", () => {
    const result = parseManifests(
      "kind: Namespace\napiVersion: v1\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nstatus: {podIP: nope}\n",
      "inline.yaml",
    );
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      {
        code: "manifest.field",
        file: "inline.yaml",
        document: 3,
        kind: "Pod",
        namespace: "a",
        name: "p",
        path: "status.podIP",
        message: "must be an IP address",
      },
    ]);
  });

  test("List items are validated with their path inside the list", () => {
    const text = `
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: ok}}
  - {apiVersion: microseg.io/v1, kind: NetworkSet, metadata: {name: n}, spec: {nets: [bad]}}
`;
    assert.deepEqual(formatted(parseManifests(text, "list.yaml")), [
      "list.yaml#1 NetworkSet default/n: items[1].spec.nets[0]: must be a CIDR such as 10.0.0.0/16 or an IP address",
    ]);
  });

  test("typed lists (as calicoctl writes them) give their items kind and apiVersion", () => {
    const text = `
apiVersion: projectcalico.org/v3
kind: NetworkPolicyList
items:
  - metadata: {name: a, namespace: x}
    spec: {selector: all()}
`;
    assert.deepEqual(keys(parseManifests(text, "calico.yaml")), ["microseg.io/NetworkPolicy/x/a"]);
  });

  test("JSON text", () => {
    const text = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "j" } });
    assert.deepEqual(keys(parseManifests(text, "ns.json")), ["core/Namespace//j"]);
  });

  test("null is unset, as Kubernetes decodes it", () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  creationTimestamp: null\nspec:\n  containers:\n";
    assert.deepEqual(keys(parseManifests(text, "dry-run.yaml")), ["core/Pod/default/p"]);
  });

  test("empty text and empty documents are an empty set", () => {
    assert.deepEqual(keys(parseManifests("", "empty.yaml")), []);
    assert.deepEqual(keys(parseManifests("---\n# nothing\n---\n", "empty.yaml")), []);
  });

  const shapes: [string, string, string][] = [
    ["a scalar document", "just text\n", "doc.yaml#1: must be an object"],
    ["a list document", "- a\n- b\n", "doc.yaml#1: must be an object"],
    ["no apiVersion", "kind: Pod\nmetadata: {name: p}\n", "doc.yaml#1 Pod p: apiVersion: required"],
    ["no kind", "apiVersion: v1\nmetadata: {name: p}\n", "doc.yaml#1 p: kind: required"],
    [
      "a kind under another apiVersion",
      "apiVersion: microseg.io/v1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n",
      'doc.yaml#1 AdminNetworkPolicy a: unknown kind "AdminNetworkPolicy" in apiVersion "microseg.io/v1" (AdminNetworkPolicy is policy.networking.k8s.io/v1alpha1)',
    ],
    [
      "List items not a list",
      "apiVersion: v1\nkind: List\nitems: {}\n",
      "doc.yaml#1 List: items: must be a list",
    ],
    [
      "YAML syntax, with line and column",
      "apiVersion: v1\n\tkind: Pod\n",
      "doc.yaml#1: line 2, column 1: Tabs are not allowed as indentation",
    ],
    [
      "a duplicate key",
      "apiVersion: v1\nkind: Pod\nkind: Pod\n",
      'doc.yaml#1 Pod: line 3, column 1: duplicate key "kind"',
    ],
  ];
  for (const [name, text, expected] of shapes) {
    test(`rejected: ${name}`, () =>
      assert.deepEqual(formatted(parseManifests(text, "doc.yaml")), [expected]));
  }

  test("one bad object rejects the set; each bad object is reported", () => {
    const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;
    const text = [ns("good"), ns("Bad"), ns("also-good"), ns("x_y")].join("---\n");
    const lines = formatted(parseManifests(text, "ns.yaml"));
    assert.deepEqual(
      lines.map((l) => l.split(":")[0]),
      ["ns.yaml#2 Namespace Bad", "ns.yaml#4 Namespace x_y"],
    );
  });

  test("every error code is documented", () => {
    for (const [code, meaning] of Object.entries(MANIFEST_ERROR_CODES)) {
      assert.match(code, /^manifest\.[a-z]+$/);
      assert.ok(meaning.length > 10, code);
    }
  });
});

describe("microseg validate", () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ["bin/microseg.js", "validate", ...args], {
      cwd: repo,
      encoding: "utf8",
    });

  test("prints the count and exits 0 when all objects are valid", () => {
    const out = run("-f", "test/model/fixtures/set", "test/model/fixtures/pod-dump.yaml");
    assert.equal(out.stdout, "8 objects valid\n");
    assert.equal(out.status, 0);
  });

  test("prints every error, one per line, and exits 1", () => {
    const out = run(
      "-f",
      "test/model/fixtures/invalid/bad.yaml",
      "-f",
      "test/model/fixtures/duplicates",
    );
    assert.deepEqual(out.stdout.trimEnd().split("\n"), [
      "test/model/fixtures/invalid/bad.yaml#2 NetworkPolicy prod/web: spec.ingress[0].ports[1].port: must be 1-65535 or a port name",
      "test/model/fixtures/invalid/bad.yaml#3 Tier Security: metadata.name: must be a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
      "test/model/fixtures/invalid/bad.yaml#3 Tier Security: spec.defaultAction: must be one of Deny, Pass",
      `test/model/fixtures/invalid/bad.yaml#4 CiliumNetworkPolicy w: ${CILIUM_REFUSED}`,
      "test/model/fixtures/duplicates/b.yaml#1 NetworkPolicy default/allow-web: duplicate of test/model/fixtures/duplicates/a.yaml#2",
    ]);
    assert.equal(out.status, 1);
  });

  test("--strict makes a kind microseg does not read an error; without it, a warning", () => {
    const dir = mkdtempSync(join(tmpdir(), "microseg-strict-"));
    try {
      const file = join(dir, "repo.yaml");
      writeFileSync(
        file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
      );
      const lenient = run("-f", file);
      assert.equal(lenient.status, 0, lenient.stdout);
      assert.equal(lenient.stdout, "1 object valid\n");
      assert.match(lenient.stderr, /warning: skipped 1 object of kind ConfigMap \(v1\)/);
      const strict = run("--strict", "-f", file);
      assert.equal(strict.status, 1);
      assert.match(strict.stdout, /repo\.yaml#1 ConfigMap .*a: .*ConfigMap/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("kinds microseg does not read", () => {
  const repo = `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
`;

  test("are skipped with one warning per kind, counted", () => {
    const result = parseManifests(repo, "repo.yaml");
    assert.ok(result.ok);
    assert.deepEqual(result.resources.map(resourceKey), ["core/Namespace//shop"]);
    assert.deepEqual(
      result.warnings.map((w) => w.message),
      [
        "skipped 1 object of kind Certificate (cert-manager.io/v1): not read by microseg (--strict makes this an error)",
        "skipped 2 objects of kind ConfigMap (v1): not read by microseg (--strict makes this an error)",
      ],
    );
  });

  test("are errors with strict", () => {
    const result = parseManifests(repo, "repo.yaml", { strict: true });
    assert.equal(result.ok, false);
    assert.equal(result.ok ? 0 : result.errors.length, 3);
  });

  test("a known kind under another apiVersion is still an error", () => {
    const result = parseManifests(
      "apiVersion: microseg.io/v1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n",
      "doc.yaml",
    );
    assert.equal(result.ok, false);
  });
});
