// deploy/: the committed CRDs are what the model's schemas generate, their schemas are
// structural, the agents' ClusterRole lets them list and watch every kind they follow (and
// nothing more), and the DaemonSet runs them as the Kubernetes datastore needs. (kubectl's
// client-side dry run needs an API server's discovery; there is none here, so the manifests
// are read and checked as data.)
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { CRD_KINDS, crdFiles, WATCHED_KINDS } from "../../src/datastore/kubernetes/index.ts";

const DEPLOY = join(dirname(fileURLToPath(import.meta.url)), "../../deploy");

type Json = Record<string, unknown>;

function docs(file: string): Json[] {
  return parseAllDocuments(readFileSync(join(DEPLOY, file), "utf8")).map((d) => d.toJS() as Json);
}

/** Paths of schema nodes apiextensions.k8s.io/v1 would refuse as not structural. */
function unstructural(node: Json, path: string): string[] {
  const out: string[] = [];
  for (const banned of ["anyOf", "oneOf", "allOf", "not", "$ref", "const", "default"])
    if (banned in node) out.push(`${path}: ${banned}`);
  const open =
    node["x-kubernetes-preserve-unknown-fields"] === true ||
    node["x-kubernetes-int-or-string"] === true;
  if (typeof node.type !== "string" && !open) out.push(`${path}: no type`);
  if (node.properties && node.additionalProperties)
    out.push(`${path}: properties and additionalProperties`);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Json>))
    out.push(...unstructural(v, `${path}.${k}`));
  if (node.items) out.push(...unstructural(node.items as Json, `${path}[]`));
  if (typeof node.additionalProperties === "object")
    out.push(...unstructural(node.additionalProperties as Json, `${path}{}`));
  return out;
}

describe("deploy/crds", () => {
  const generated = crdFiles();

  it("equal what scripts/gen-crds.ts generates from the schemas", () => {
    assert.equal(generated.length, CRD_KINDS.length);
    assert.deepEqual(readdirSync(join(DEPLOY, "crds")).sort(), generated.map((g) => g.file).sort());
    for (const g of generated) {
      assert.equal(
        readFileSync(join(DEPLOY, "crds", g.file), "utf8"),
        g.text,
        `${g.file} is stale: run node --import tsx scripts/gen-crds.ts`,
      );
      assert.doesNotMatch(g.text, /[&*]a\d+\b/, `${g.file} has YAML anchors or aliases`);
    }
  });

  it("are structural, named and scoped as the registry says", () => {
    for (const info of CRD_KINDS) {
      const [crd] = docs(`crds/${info.plural}.microseg.io.yaml`);
      const spec = crd?.spec as Json & { names: Json; versions: Json[] };
      assert.equal(spec.scope, info.namespaced ? "Namespaced" : "Cluster");
      assert.equal(spec.names.kind, info.kind);
      const schema = ((spec.versions[0] as Json).schema as Json).openAPIV3Schema as Json;
      assert.deepEqual(unstructural(schema, info.kind), []);
      assert.ok((schema.properties as Json).spec, `${info.kind} has a spec schema`);
    }
  });
});

describe("deploy/", () => {
  it("the agents may list and watch every kind they follow, and write nothing", () => {
    const role = docs("rbac.yaml").find((d) => d.kind === "ClusterRole") as Json & {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    for (const r of role.rules) assert.deepEqual([...r.verbs].sort(), ["list", "watch"]);
    for (const k of WATCHED_KINDS) {
      assert.ok(
        role.rules.some((r) => r.apiGroups.includes(k.group) && r.resources.includes(k.plural)),
        `${k.apiVersion} ${k.plural} is not in the ClusterRole`,
      );
    }
    const binding = docs("rbac.yaml").find((d) => d.kind === "ClusterRoleBinding") as Json & {
      subjects: Json[];
    };
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "microseg-agent", namespace: "microseg" },
    ]);
  });

  it("the DaemonSet runs the agent on the host network, with NET_ADMIN, its node from the downward API", () => {
    const [ds] = docs("agent.yaml");
    assert.equal(ds?.kind, "DaemonSet");
    const pod = (((ds as Json).spec as Json).template as Json).spec as Json & {
      containers: Json[];
    };
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.serviceAccountName, "microseg-agent");
    const c = pod.containers[0] as Json & { command: string[]; env: Json[] };
    assert.ok(c.command.includes("--datastore=kubernetes"));
    assert.ok(c.command.includes("--node=$(NODE_NAME)"));
    assert.deepEqual(c.env, [
      { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
    ]);
    assert.ok(
      ((c.securityContext as Json).capabilities as { add: string[] }).add.includes("NET_ADMIN"),
    );
  });

  it("the API server's Deployment is reached through its Service and needs a token off loopback", () => {
    const all = docs("server.yaml");
    const dep = all.find((d) => d.kind === "Deployment") as Json;
    const svc = all.find((d) => d.kind === "Service") as Json & { spec: { selector: Json } };
    const tmpl = (dep.spec as Json).template as Json;
    assert.deepEqual(svc.spec.selector, {
      "app.kubernetes.io/name": (tmpl.metadata as { labels: Json }).labels[
        "app.kubernetes.io/name"
      ],
    });
    const cmd = (tmpl.spec as { containers: { command: string[] }[] }).containers[0]?.command ?? [];
    assert.ok(cmd.some((a) => a.startsWith("--token-file=")));
  });
});
