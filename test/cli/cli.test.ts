// The CLI contract other tools script against: exit codes, JSON shapes, error messages.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { controllerYaml } from "../inputs/world.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "bin", "microseg.js");

function microseg(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), "microseg-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A flow of the examples that a Deny rule decides, with Log rules of that policy on the way. */
const BLUE_BATCH_TO_LDAPS = [
  "--from",
  "directory/blue-batch-0",
  "--to",
  "directory/ldap-server-1",
  "--port",
  "636",
];

describe("microseg matrix", () => {
  it("-o json prints every ordered pair with both directions' verdicts", () => {
    const r = microseg(
      "matrix",
      "-f",
      "examples/blue-ldap",
      "--ports",
      "389/TCP,8080",
      "-o",
      "json",
    );
    assert.equal(r.status, 0, r.stderr);
    const { results } = JSON.parse(r.stdout) as { results: Array<Record<string, unknown>> };
    assert.equal(results.length, 6 * 6 * 2);
    const cell = results.find(
      (c) =>
        c.from === "directory/blue-web-0" && c.to === "directory/ldap-server-0" && c.port === 389,
    );
    assert.deepEqual(cell, {
      from: "directory/blue-web-0",
      to: "directory/ldap-server-0",
      port: 389,
      protocol: "TCP",
      allowed: false,
      egress: true,
      ingress: false,
    });
  });

  it("without --ports judges every declared container port", () => {
    const r = microseg("matrix", "-f", "examples/blue-ldap", "-o", "json");
    const ports = new Set(
      (JSON.parse(r.stdout).results as Array<{ port: number }>).map((c) => c.port),
    );
    assert.deepEqual([...ports].sort(), [389, 636, 8080]);
  });

  it("text output is one grid per port", () => {
    const r = microseg("matrix", "-f", "examples/blue-ldap", "--ports", "389/TCP");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^389\/TCP: \d+\/36 allowed/);
    assert.match(r.stdout, /directory\/blue-web-0 +\. \. \. \. X X/);
  });

  it("a bad --ports value names the item and changes nothing", () => {
    const r = microseg("matrix", "-f", "examples/blue-ldap", "--ports", "80/TCP,99999");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: --ports: "99999" is not PORT/);
  });
});

describe("microseg explain", () => {
  it("names tier, policy, rule and action for each direction", () => {
    const r = microseg("explain", "-f", "examples", ...BLUE_BATCH_TO_LDAPS, "-o", "json");
    assert.equal(r.status, 1, `a denied flow exits 1, like kubectl auth can-i: ${r.stderr}`);
    const e = JSON.parse(r.stdout);
    assert.equal(e.allowed, false);
    assert.deepEqual(e.ingress.decision, {
      kind: "rule",
      tier: "security",
      policy: { kind: "GlobalNetworkPolicy", name: "blue-ldap", writtenName: "security.blue-ldap" },
      ruleIndex: 2,
      action: "Deny",
    });
    assert.equal(e.egress.decision.kind, "no-policy");
  });

  it("an allowed flow exits 0", () => {
    const r = microseg(
      "explain",
      "-f",
      "examples",
      "--from",
      "directory/ldap-client-0",
      "--to",
      "directory/ldap-server-0",
      "--port",
      "389",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: ALLOWED/);
    // The policy as its manifest names it, tier prefix included.
    assert.match(
      r.stdout,
      /Allow by tier security, GlobalNetworkPolicy security\.blue-ldap, rule 0/,
    );
  });

  it("accepts an address that is no workload", () => {
    const r = microseg(
      "explain",
      "-f",
      "examples",
      "--from",
      "203.0.113.9",
      "--to",
      "order-input/frontend-0",
      "--port",
      "8080",
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stdout,
      /203\.0\.113\.9 \(203\.0\.113\.9\) -> order-input\/frontend-0 .*: DENIED/,
    );
  });

  it("an unknown workload is a clear error", () => {
    const r = microseg(
      "explain",
      "-f",
      "examples",
      "--from",
      "nope/nothing",
      "--to",
      "order-input/frontend-0",
      "--port",
      "80",
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--from: "nope\/nothing" is neither a known workload/);
  });

  it("--port takes a name of the destination's container ports", () => {
    const peers = ["--from", "directory/ldap-client-0", "--to", "directory/ldap-server-0"];
    const judge = (port: string) =>
      microseg("explain", "-f", "examples", ...peers, "--port", port, "-o", "json");
    const byNumber = judge("389");
    const byName = judge("ldap");
    assert.equal(byName.status, 0, byName.stderr);
    assert.equal(JSON.parse(byName.stdout).port, 389);
    assert.deepEqual(JSON.parse(byName.stdout), JSON.parse(byNumber.stdout));
    const missing = judge("nosuch");
    assert.equal(missing.status, 2);
    assert.match(
      missing.stderr,
      /--port: "nosuch" is not a named port of directory\/ldap-server-0/,
    );
  });

  it("-n names the namespace of bare names; without it a bare name is in default", () => {
    const qualified = ["--from", "directory/ldap-client-0", "--to", "directory/ldap-server-0"];
    const bare = ["-n", "directory", "--from", "ldap-client-0", "--to", "ldap-server-0"];
    const judge = (peers: string[]) =>
      microseg("explain", "-f", "examples", ...peers, "--port", "389", "-o", "json");
    const a = judge(qualified);
    const b = judge(bare);
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout));
    const file = join(tmp, "default-ns.yaml");
    writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: db, labels: {app: db}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-nobody}
spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
`,
    );
    const r = microseg("explain", "-f", file, "--from", "web", "--to", "db", "--port", "80");
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /default\/web .*-> default\/db .*: DENIED/);
    const elsewhere = microseg(
      "explain",
      "-f",
      file,
      "-n",
      "shop",
      "--from",
      "web",
      "--to",
      "db",
      "--port",
      "80",
    );
    assert.equal(elsewhere.status, 2);
    assert.match(elsewhere.stderr, /--from: "shop\/web" is neither a known workload/);
  });
});

describe("microseg validate", () => {
  it("reports every error with file, document, object and field path, and exits 1", () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(
      file,
      [
        "apiVersion: networking.k8s.io/v1",
        "kind: NetworkPolicy",
        "metadata: {name: web, namespace: prod}",
        "spec:",
        "  podSelector: {}",
        "  ingress:",
        "  - ports: [{port: 80}, {port: 70000}]",
        "---",
        "apiVersion: microseg.io/v1",
        "kind: NetworkPolicy",
        "metadata: {name: db, namespace: prod}",
        "spec:",
        "  selector: app == ",
        "  bogus: 1",
      ].join("\n"),
    );
    const r = microseg("validate", "-f", file);
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      /bad\.yaml#1 NetworkPolicy prod\/web: spec\.ingress\[0\]\.ports\[1\]\.port: /,
    );
    assert.match(
      r.stdout,
      /bad\.yaml#2 NetworkPolicy prod\/db: spec\.selector: invalid selector: .* at column 7/,
    );
    assert.match(r.stdout, /bad\.yaml#2 NetworkPolicy prod\/db: spec\.bogus: unknown field/);
  });

  it("a valid set reports its size", () => {
    const r = microseg("validate", "-f", "examples");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^\d+ objects valid/);
  });
});

describe("-o wide on the offline commands", () => {
  it("explain: a row per direction with where it is judged, tier, policy as written and rule", () => {
    const r = microseg("explain", "-f", "examples", ...BLUE_BATCH_TO_LDAPS, "-o", "wide");
    assert.equal(r.status, 1, r.stderr);
    const rows = r.stdout.trimEnd().split("\n");
    assert.match(rows[0] ?? "", /^DIRECTION +AT +ADDRESS +VERDICT +TIER +POLICY +RULE +PASSED$/);
    assert.match(
      rows[1] ?? "",
      /^egress +directory\/blue-batch-0 +198\.18\.20\.15 +Allow +<none> +<none> +no-policy/,
    );
    assert.match(
      rows[2] ?? "",
      /^ingress +directory\/ldap-server-1 +198\.18\.20\.11 +Deny +security +GlobalNetworkPolicy security\.blue-ldap +2 /,
    );
  });

  it("matrix: a row per cell with each direction's verdict", () => {
    const r = microseg("matrix", "-f", "examples/blue-ldap", "--ports", "389/TCP", "-o", "wide");
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trimEnd().split("\n");
    assert.match(rows[0] ?? "", /^FROM +TO +PORT +VERDICT +EGRESS +INGRESS$/);
    assert.equal(rows.length, 1 + 36);
    assert.ok(
      rows.some((l) =>
        /^directory\/blue-web-0 +directory\/ldap-server-0 +389\/TCP +Deny +Allow +Deny$/.test(l),
      ),
    );
  });

  it("lint: a table with the check id in its own column; the exit status is unchanged", () => {
    const r = microseg("lint", "-f", "test/analysis/lint/rule.shadowed/bad.yaml", "-o", "wide");
    const rows = r.stdout.trimEnd().split("\n");
    assert.match(rows[0] ?? "", /^SEVERITY +CHECK +OBJECT +PATH +MESSAGE$/);
    assert.ok(
      rows.slice(1).some((l) => /^warning +rule\.shadowed +/.test(l)),
      r.stdout,
    );
    assert.equal(r.status, 1);
  });

  it("an unknown -o names the formats", () => {
    const r = microseg("lint", "-f", "examples/blue-ldap", "-o", "wider");
    assert.match(r.stderr, /-o: "wider" is not one of text, wide, json, yaml/);
  });
});

describe("-o yaml on the offline commands", () => {
  it("writes no anchors or aliases: a policy met twice is written out twice, equal to -o json", () => {
    const flow = ["-f", "examples/", ...BLUE_BATCH_TO_LDAPS];
    for (const args of [
      ["explain", ...flow],
      ["cost", "-f", "examples/segmented-apps"],
      ["lint", "-f", "examples/"],
      ["matrix", "-f", "examples/blue-ldap"],
    ]) {
      const yaml = microseg(...args, "-o", "yaml");
      assert.ok(yaml.stdout.length > 0, `${args.join(" ")}: ${yaml.stderr}`);
      assert.doesNotMatch(yaml.stdout, /(^|[\s:-])[&*]a\d+\b/m, args.join(" "));
      const json = microseg(...args, "-o", "json");
      assert.deepEqual(parse(yaml.stdout), JSON.parse(json.stdout), args.join(" "));
    }
    // The flow above is decided by a policy whose rules are also logged on the way.
    assert.match(microseg("explain", ...flow, "-o", "yaml").stdout, /logged:\n {4}- policy:\n/);
  });
});

describe("explain with ICMP type and code", () => {
  const file = join(tmp, "icmp.yaml");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: default, labels: {app: db}}
---
apiVersion: microseg.io/v1
kind: NetworkPolicy
metadata: {name: db-ping, namespace: default}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}
`,
  );
  const ping = (...args: string[]) =>
    microseg("explain", "-f", file, "--from", "web", "--to", "db", "--protocol", "ICMP", ...args);

  it("judges the type and code a rule's icmp match names", () => {
    const echo = ping("--icmp-type", "8", "--icmp-code", "0");
    assert.equal(echo.status, 0, echo.stderr);
    assert.match(echo.stdout, /-> default\/db .* ICMP type 8 code 0: ALLOWED/);
    assert.match(echo.stdout, /NetworkPolicy default\/db-ping, rule 0/);
    const json = JSON.parse(ping("--icmp-type", "8", "--icmp-code", "0", "-o", "json").stdout);
    assert.deepEqual([json.icmp, json.port], [{ type: 8, code: 0 }, undefined]);
    for (const other of [["--icmp-type", "8", "--icmp-code", "3"], ["--icmp-type", "0"], []]) {
      const r = ping(...other);
      assert.equal(r.status, 1, `${other.join(" ")} is denied: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /Deny by the default action of tier default/);
    }
  });

  it("refuses fields that do not fit the protocol, naming the flag", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--port", "80"], /--port: ICMP has no ports/],
      [["--icmp-code", "0"], /--icmp-code: needs --icmp-type/],
      [["--icmp-type", "256"], /--icmp-type: "256" is not 0-255/],
      [["--protocol", "TCP", "--port", "80", "--icmp-type", "8"], /--icmp-type: TCP has no ICMP/],
      [["--protocol", "TCP"], /--port: required for TCP/],
    ];
    for (const [args, message] of cases) {
      const r = ping(...args);
      assert.equal(r.status, 2, args.join(" "));
      assert.match(r.stderr, message);
    }
  });
});

describe("explain with ICMP of the other address family", () => {
  const file = join(tmp, "icmp-family.yaml");
  const pod = (name: string, ips: string[]) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: ${name}}}
status: {podIP: "${ips[0]}", podIPs: [${ips.map((ip) => `{ip: "${ip}"}`).join(", ")}]}
`;
  writeFileSync(
    file,
    [
      pod("v4-a", ["198.18.0.1"]),
      pod("v4-b", ["198.18.0.2"]),
      pod("v6-a", ["fd00::1"]),
      pod("v6-b", ["fd00::2"]),
      pod("dual", ["198.18.0.3", "fd00::3"]),
    ].join("---\n"),
  );
  const explain = (from: string, to: string, protocol: string) =>
    microseg(
      "explain",
      "-f",
      file,
      "-n",
      "shop",
      "--from",
      from,
      "--to",
      to,
      "--protocol",
      protocol,
      "--icmp-type",
      "8",
    );

  it("refuses ICMPv6 between IPv4 workloads and ICMP between IPv6 ones, naming --protocol; judges each family's own", () => {
    // [from, to, protocol, what stderr says (refused) or where the flow starts (judged)]
    const cases: ReadonlyArray<readonly [string, string, string, RegExp | string]> = [
      ["v4-a", "v4-b", "ICMPv6", /ICMPv6 is IPv6's, and shop\/v4-a \(198.18.0.1\) has no IPv6/],
      ["v6-a", "v6-b", "ICMP", /ICMP is IPv4's, and shop\/v6-a \(fd00::1\) has no IPv4/],
      ["dual", "v4-b", "ICMPv6", /ICMPv6 is IPv6's, and shop\/v4-b \(198.18.0.2\) has no IPv6/],
      ["198.18.0.9", "v4-b", "ICMPv6", /ICMPv6 is IPv6's, and 198.18.0.9 has no IPv6 address/],
      ["v4-a", "v4-b", "ICMP", "shop/v4-a (198.18.0.1) -> shop/v4-b"],
      ["v6-a", "v6-b", "ICMPv6", "shop/v6-a (fd00::1) -> shop/v6-b"],
      ["dual", "v6-b", "ICMPv6", "shop/dual (fd00::3) -> shop/v6-b"],
      ["dual", "v4-b", "ICMP", "shop/dual (198.18.0.3) -> shop/v4-b"],
    ];
    for (const [from, to, protocol, expected] of cases) {
      const r = explain(from, to, protocol);
      const where = `${from} -> ${to} ${protocol}: ${r.stdout}${r.stderr}`;
      if (typeof expected === "string") {
        assert.equal(r.status, 0, where);
        assert.ok(r.stdout.startsWith(expected), where);
      } else {
        assert.equal(r.status, 2, where);
        assert.match(r.stderr, new RegExp(`--protocol: ${expected.source}`), where);
      }
    }
  });
});

describe("explain names controllers' templates as kubectl does", () => {
  const file = join(tmp, "templates.yaml");
  writeFileSync(
    file,
    `${[
      controllerYaml("Deployment", "shop", "web", ["{containerPort: 80}"]),
      controllerYaml("StatefulSet", "shop", "db", ["{containerPort: 5432, name: pg}"]),
      controllerYaml("Deployment", "default", "other"),
    ].join("---\n")}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: pg}]}]
`,
  );

  it("describe -f: the files' objects offline, a template as its workload", () => {
    const db = microseg("describe", "-f", file, "-n", "shop", "statefulset/db");
    assert.equal(db.status, 0, db.stderr);
    assert.match(db.stdout, /^Name: +db\nNamespace: +shop\nKind: +StatefulSet \(apps\/v1\)/);
    assert.match(db.stdout, /Ports: +pg 5432\/TCP/);
    assert.match(
      db.stdout,
      /Ingress:\n {2}Tier default .*\n {4}networking\.k8s\.io\/NetworkPolicy shop\/db-from-web/,
    );
    const web = microseg("describe", "-f", file, "-n", "shop", "deploy/web");
    assert.match(web.stdout, /^Ports: +80\/TCP$/m, "an unnamed container port is listed too");
    const all = microseg("describe", "-f", file);
    assert.equal(all.status, 0, all.stderr);
    assert.deepEqual(
      [...all.stdout.matchAll(/^Name: +(\S+)$/gm)].map((m) => m[1]),
      ["web", "db", "other", "db-from-web"],
    );
    const missing = microseg("describe", "-f", file, "-n", "shop", "deploy/nope");
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /deployments\.apps "nope" not found in the files in namespace shop/,
    );
  });

  it("-n NS with KIND/NAME (deploy/web, statefulset/db) is NS's template workload", () => {
    for (const [from, to] of [
      ["deploy/web", "statefulset/db"],
      ["deployment/web", "sts/db"],
      ["shop/deploy/web", "shop/statefulset/db"],
    ]) {
      const r = microseg(
        "explain",
        "-f",
        file,
        "-n",
        "shop",
        "--from",
        from!,
        "--to",
        to!,
        "--port",
        "pg",
      );
      assert.equal(r.status, 0, `${from} -> ${to}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stdout,
        /^shop\/deployment\/web \(no address\) -> shop\/statefulset\/db .*: ALLOWED/,
      );
    }
    const denied = microseg(
      "explain",
      "-f",
      file,
      "--from",
      "deploy/other",
      "--to",
      "shop/sts/db",
      "--port",
      "5432",
    );
    assert.equal(denied.status, 1, denied.stdout + denied.stderr);
    assert.match(
      denied.stdout,
      /^default\/deployment\/other .*: DENIED/,
      "without -n: namespace default",
    );
  });
});

describe("microseg lint -n -f", () => {
  it("places the namespaced objects naming none in -n's namespace, as validate -n does", () => {
    const file = join(tmp, "lint-no-namespace.yaml");
    writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata: { name: web-0, labels: { app: web } }
---
apiVersion: v1
kind: Pod
metadata: { name: client-0, labels: { app: client } }
---
apiVersion: microseg.io/v1
kind: NetworkPolicy
metadata: { name: web-in }
spec:
  selector: app == "web"
  ingress:
    - { action: Allow, source: { selector: app == "client" } }
    - { action: Deny, source: { selector: app == "client" } }
`,
    );
    const r = microseg("lint", "-n", "team", "-f", file, "-o", "json");
    const { findings } = JSON.parse(r.stdout) as {
      findings: Array<{ check: string; object: string }>;
    };
    assert.ok(
      findings.some(
        (f) => f.check === "rule.shadowed" && f.object === "microseg.io/NetworkPolicy team/web-in",
      ),
      r.stdout,
    );
    assert.ok(
      findings.every((f) => !/ default\//.test(f.object)),
      r.stdout,
    );
    const other = join(tmp, "lint-other-namespace.yaml");
    writeFileSync(other, "apiVersion: v1\nkind: Pod\nmetadata: { name: x, namespace: shop }\n");
    const refused = microseg("lint", "-n", "team", "-f", other);
    assert.equal(refused.status, 3, "input that cannot be linted");
    assert.match(refused.stderr, /shop/);
  });
});
