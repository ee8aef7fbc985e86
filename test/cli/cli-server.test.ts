// The kubectl-style verbs as a user runs them: the CLI as a child process against a real
// `microseg server` on a temp SQLite file. Outputs and exit codes as kubectl's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import {
  BIN,
  cli,
  cliRunning,
  ROOT,
  type ServerProcess,
  startServerProcess,
} from "./server-process.ts";

let server: ServerProcess;
const run = (...args: string[]) => cli(server.url, args);

before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server?.stop();
});

const BAD_SET = `
apiVersion: v1
kind: Namespace
metadata: { name: fresh }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: bad, namespace: fresh }
spec:
  podSelector: {}
  ingress: [{ ports: [{ port: 70000 }] }]
`;

describe("microseg apply", () => {
  it("creates every object and prints kind/name created, as kubectl apply", () => {
    const r = run("apply", "-f", "examples/blue-ldap");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.ok(lines.includes("tier.microseg.io/security created"), r.stdout);
    assert.ok(lines.includes("globalnetworkpolicy.microseg.io/security.blue-ldap created"));
    assert.ok(lines.includes("namespace/directory created"));
    assert.ok(lines.includes("pod/ldap-server-0 created"));
    assert.equal(r.stderr, "", "no progress line when stderr is not a terminal");
  });

  it("applying the same set again changes nothing and says so", () => {
    const r = run("apply", "-f", "examples/blue-ldap");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      r.stdout
        .trim()
        .split("\n")
        .every((l) => l.endsWith(" unchanged")),
      r.stdout,
    );
  });

  it("-f - reads standard input; one bad object fails the set, naming the field, and changes nothing", () => {
    const r = cli(server.url, ["apply", "-f", "-"], BAD_SET);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /spec\.ingress\[0\]\.ports\[0\]\.port/);
    const ns = run("get", "ns", "fresh");
    assert.equal(ns.status, 1, "the valid namespace of the same set was not created");
  });
});

const NO_NAMESPACE = `
apiVersion: v1
kind: Namespace
metadata: { name: team-n }
---
apiVersion: v1
kind: Pod
metadata: { name: lonely }
spec: { containers: [] }
`;

describe("microseg apply -n", () => {
  it("puts namespaced objects without a namespace in -n's namespace (cluster-scoped ones stay)", () => {
    const r = cli(server.url, ["apply", "-n", "team-n", "-f", "-"], NO_NAMESPACE);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      "namespace/team-n created",
      "pod/lonely created",
    ]);
    assert.equal(run("get", "pod", "lonely", "-n", "team-n").status, 0);
    assert.equal(run("get", "pod", "lonely", "-n", "default").status, 1);
    // The later tests compare the store with the examples alone.
    assert.equal(run("delete", "pod", "lonely", "-n", "team-n").status, 0);
    assert.equal(run("delete", "ns", "team-n").status, 0);
  });

  it("an object naming another namespace than -n is an error naming it, and nothing is applied", () => {
    const other = `${NO_NAMESPACE.replace("team-n }", "team-m }")}---
apiVersion: v1
kind: Pod
metadata: { name: elsewhere, namespace: team-x }
spec: { containers: [] }
`;
    const r = cli(server.url, ["apply", "-n", "team-m", "-f", "-"], other);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Pod team-x\/elsewhere/);
    assert.match(
      r.stderr,
      /metadata\.namespace: the namespace from the provided object "team-x" does not match the namespace "team-m"/,
    );
    assert.equal(run("get", "ns", "team-m").status, 1, "nothing of the set was applied");
  });
});

describe("progress on a terminal", () => {
  it("apply shows a status line on a terminal and erases it; the results stay", () => {
    // script(1) gives the CLI a pseudo-terminal, as a user's shell would.
    const r = spawnSync(
      "script",
      ["-qec", `node ${BIN} apply -f examples/blue-ldap`, "/dev/null"],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, MICROSEG_SERVER: server.url } },
    );
    assert.equal(r.status, 0, r.stdout);
    const erase = "\r\u001b[2K";
    assert.ok(r.stdout.includes(`${erase}applying `), r.stdout);
    assert.match(
      r.stdout,
      /applying \d+ objects to 127\.0\.0\.1:\d+ as one transaction \(\d+\.\ds\)/,
    );
    assert.ok(
      r.stdout.includes(`${erase}tier.microseg.io/security unchanged`),
      "the line is erased before the results",
    );
  });
});

describe("microseg get", () => {
  it("prints kubectl's table: NAME, kind columns, AGE", () => {
    const r = run("get", "pods", "-n", "directory");
    assert.equal(r.status, 0, r.stderr);
    const [header, ...rows] = r.stdout.trim().split("\n");
    assert.match(header ?? "", /^NAME {3,}STATUS {3,}AGE$/);
    assert.equal(rows.length, 6);
    assert.match(rows[0] ?? "", /^blue-batch-0 +Running +\d+s$/);
  });

  it("-A adds NAMESPACE first; -o wide adds the kind's columns after AGE", () => {
    const r = run("get", "po", "-A", "-o", "wide");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^NAMESPACE +NAME +STATUS +AGE +IP +NODE$/);
    assert.ok(
      lines.some((l) =>
        /^directory +ldap-server-0 +Running +\S+ +198\.18\.20\.10 +node-1$/.test(l),
      ),
      r.stdout,
    );
  });

  it("-l filters by label; -o name prints kind/name", () => {
    const r = run("get", "pods", "-n", "directory", "-l", "role=ldap-server", "-o", "name");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "pod/ldap-server-0\npod/ldap-server-1\n");
  });

  it("-o json prints the one object named; -o yaml of several is a List without anchors", () => {
    const one = run("get", "gnp", "security.blue-ldap", "-o", "json");
    assert.equal(one.status, 0, one.stderr);
    const gnp = JSON.parse(one.stdout);
    assert.equal(gnp.kind, "GlobalNetworkPolicy");
    assert.equal(gnp.spec.tier, "security");
    assert.match(gnp.metadata.resourceVersion, /^\d+$/);
    const list = run("get", "pods", "-n", "directory", "-o", "yaml");
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^apiVersion: v1\nitems:\n/);
    assert.match(list.stdout, /\nkind: List\n/);
    assert.doesNotMatch(list.stdout, /[&*][a-z]\d*\b/, "no YAML anchors or aliases");
  });

  it("short names and qualified plurals name kinds as kubectl does", () => {
    const netpol = run("get", "networkpolicies", "-A");
    assert.equal(netpol.status, 0);
    assert.equal(netpol.stderr, "No resources found\n", "the Kubernetes kind: none applied");
    const ours = run("get", "networkpolicies.microseg.io", "-A");
    assert.equal(ours.status, 0);
    const tiers = run("get", "tiers");
    assert.match(tiers.stdout, /^security +\S+$/m);
  });

  it("a missing object exits 1 with kubectl's message; so does an unknown type", () => {
    const r = run("get", "pod", "nope", "-n", "directory");
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'Error from server (NotFound): pods "nope" not found\n');
    const t = run("get", "widgets");
    assert.equal(t.status, 1);
    assert.equal(t.stderr, 'error: the server doesn\'t have a resource type "widgets"\n');
  });

  it("--watch prints the list, then a row per change", async () => {
    const watch = cliRunning(server.url, ["get", "pods", "-n", "directory", "-w"]);
    try {
      await watch.waitFor(/ldap-server-1 .*\n/);
      const rows = () => watch.stdout.trim().split("\n").length;
      assert.equal(rows(), 7, watch.stdout);
      assert.equal(run("label", "pod", "blue-web-0", "-n", "directory", "watched=yes").status, 0);
      await watch.waitFor(/blue-web-0 [^\n]*\n[\s\S]*blue-web-0 +Running [^\n]*\n/);
      assert.equal(rows(), 8, watch.stdout);
    } finally {
      await watch.stop();
    }
  });
});

describe("microseg describe", () => {
  it("a pod: its addresses and the policies selecting it per direction and tier", () => {
    const r = run("describe", "pod", "ldap-server-0", "-n", "directory");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Name: +ldap-server-0$/m);
    assert.match(r.stdout, /^Addresses: +198\.18\.20\.10$/m);
    assert.match(
      r.stdout,
      /Ingress:\n {2}Tier security \(order 100, default Pass\):\n {4}GlobalNetworkPolicy security\.blue-ldap \(order 10\)\n/,
    );
    assert.match(r.stdout, /Egress:\n {2}<none>: no policy selects this endpoint; open/);
  });

  it("a policy: what it selects and its rules in words", () => {
    const r = run("describe", "gnp/security.blue-ldap");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Selects: +directory\/ldap-server-0\n +directory\/ldap-server-1$/m);
    assert.match(
      r.stdout,
      /0: Allow TCP from endpoints matching .*ldap-client.* to ports ldap, ldaps/,
    );
  });

  it("a missing object exits 1", () => {
    const r = run("describe", "pod", "nope", "-n", "directory");
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'Error from server (NotFound): pods "nope" not found\n');
  });
});

describe("microseg label, explain and matrix over the live store", () => {
  it("explain exits 1 on a denied flow; a label change makes it allowed (exit 0)", () => {
    const args = [
      "explain",
      "--from",
      "directory/blue-web-0",
      "--to",
      "directory/ldap-server-0",
      "--port",
      "389",
    ];
    const denied = run(...args);
    assert.equal(denied.status, 1, denied.stderr);
    assert.match(denied.stdout, /DENIED/);
    const refused = run("label", "pod", "blue-web-0", "-n", "directory", "role=ldap-client");
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /'role' already has a value \(web\), and --overwrite is false/);
    const labeled = run(
      "label",
      "pod/blue-web-0",
      "-n",
      "directory",
      "role=ldap-client",
      "--overwrite",
    );
    assert.equal(labeled.status, 0, labeled.stderr);
    assert.equal(labeled.stdout, "pod/blue-web-0 labeled\n");
    const allowed = run(...args);
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stdout, /ALLOWED/);
  });

  it("removing a label with k- and an unchanged label say so", () => {
    const removed = run("label", "pod", "blue-web-0", "-n", "directory", "watched-");
    assert.equal(removed.stdout, "pod/blue-web-0 labeled\n", removed.stderr);
    const same = run("label", "pod", "blue-web-0", "-n", "directory", "role=ldap-client");
    assert.equal(same.stdout, "pod/blue-web-0 not labeled\n");
    const labels = JSON.parse(
      run("get", "pod", "blue-web-0", "-n", "directory", "-o", "json").stdout,
    ).metadata.labels;
    assert.deepEqual(labels, { color: "blue", role: "ldap-client" });
  });

  it("matrix without -f judges the store: the same cells as -f over the same objects", () => {
    const live = run("matrix", "--ports", "389/TCP", "-o", "json");
    assert.equal(live.status, 0, live.stderr);
    const cells = JSON.parse(live.stdout).results as {
      from: string;
      to: string;
      allowed: boolean;
    }[];
    assert.equal(cells.length, 36);
    const cell = (from: string) =>
      cells.find((c) => c.from === `directory/${from}` && c.to === "directory/ldap-server-0");
    assert.equal(cell("blue-web-0")?.allowed, true, "relabelled as an LDAP client above");
    assert.equal(cell("blue-batch-0")?.allowed, false);
  });
});

describe("microseg delete", () => {
  it("KIND NAME deletes and prints kubectl's line; a second time is NotFound, exit 1", () => {
    const r = run("delete", "pod", "blue-batch-0", "-n", "directory");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'pod "blue-batch-0" deleted\n');
    const again = run("delete", "pod", "blue-batch-0", "-n", "directory");
    assert.equal(again.status, 1);
    assert.equal(again.stderr, 'Error from server (NotFound): pods "blue-batch-0" not found\n');
    const ignored = run("delete", "pod", "blue-batch-0", "-n", "directory", "--ignore-not-found");
    assert.equal(ignored.status, 0);
  });

  it("-f deletes what the manifests name, policies before their tier", () => {
    const r = run("delete", "-f", "examples/blue-ldap", "--ignore-not-found");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.ok(
      lines.indexOf('globalnetworkpolicy.microseg.io "security.blue-ldap" deleted') <
        lines.indexOf('tier.microseg.io "security" deleted'),
      r.stdout,
    );
    const left = run("get", "pods", "-n", "directory");
    assert.equal(left.stderr, "No resources found in directory namespace.\n");
  });
});

describe("a server that requires a token", () => {
  let guarded: ServerProcess;
  before(async () => {
    guarded = await startServerProcess({ token: "t0ken" });
  });
  after(async () => {
    await guarded?.stop();
  });

  it("refuses the CLI without --token-file and serves it with", () => {
    const without = cli(guarded.url, ["get", "ns"]);
    assert.equal(without.status, 1);
    assert.match(without.stderr, /^Error from server \(Unauthorized\): /);
    const withToken = cli(guarded.url, ["get", "tiers", "--token-file", `${guarded.dir}/token`]);
    assert.equal(withToken.status, 0, withToken.stderr);
    assert.match(withToken.stdout, /^NAME +AGE\n(.*\n)*default +\S+\n/, "the built-in tiers");
  });

  it("a server that is not there gets kubectl's connection message", () => {
    const r = cli("http://127.0.0.1:1", ["get", "ns"]);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n",
    );
  });
});

describe("microseg apply: loader warnings", () => {
  const WITH_CONFIGMAP = `${NO_NAMESPACE.replace("team-n }", "team-w }")}---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: team-w }
data: { level: debug }
`;

  it("a kind microseg does not read is skipped with a warning on stderr, the rest applied", () => {
    const r = cli(server.url, ["apply", "-n", "team-w", "-f", "-"], WITH_CONFIGMAP);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /^warning: skipped 1 object of kind ConfigMap \(v1\): not read by microseg \(--strict makes this an error\)$/m,
    );
    assert.ok(r.stdout.includes("pod/lonely created"), r.stdout);
    assert.equal(run("delete", "pod", "lonely", "-n", "team-w").status, 0);
    assert.equal(run("delete", "ns", "team-w").status, 0);
  });

  it("--strict makes it an error and nothing is applied", () => {
    const r = cli(server.url, ["apply", "--strict", "-n", "team-w", "-f", "-"], WITH_CONFIGMAP);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ConfigMap/);
    assert.equal(run("get", "ns", "team-w").status, 1, "nothing of the set was applied");
  });
});

describe("microseg lint -n over the live store", () => {
  it("judges the whole store and prints only the findings about objects in the namespace", () => {
    const applied = run("apply", "-f", "test/analysis/lint/rule.shadowed/bad.yaml");
    assert.equal(applied.status, 0, applied.stderr);
    type Findings = { findings: Array<{ check: string; object: string }> };
    const all = JSON.parse(run("lint", "-o", "json").stdout) as Findings;
    const shop = run("lint", "-n", "shop", "-o", "json");
    const inShop = (JSON.parse(shop.stdout) as Findings).findings;
    assert.deepEqual(
      inShop,
      all.findings.filter((f) => / shop\//.test(f.object)),
    );
    assert.ok(
      inShop.some(
        (f) => f.check === "rule.shadowed" && f.object === "microseg.io/NetworkPolicy shop/web-in",
      ),
      shop.stdout,
    );
    const tools = (JSON.parse(run("lint", "-n", "tools", "-o", "json").stdout) as Findings)
      .findings;
    assert.ok(
      tools.every((f) => / tools\//.test(f.object)),
      "findings elsewhere are left out",
    );
    const none = run("lint", "-n", "no-such-namespace");
    assert.equal(none.status, 0, none.stderr);
    assert.equal(none.stdout, "no findings\n");
  });
});
