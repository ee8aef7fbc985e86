// The kubectl conventions the CLI reproduces: resource names, AGE, table layout, label specs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatLabelSelector } from "../../src/cli/columns.ts";
import { parseLabelChanges } from "../../src/cli/commands/label.ts";
import { kindPrefix, parseTargets, resolveKind } from "../../src/cli/kinds.ts";
import { formatTable, humanDuration } from "../../src/cli/table.ts";

describe("resource names", () => {
  for (const [word, apiVersion, kind] of [
    ["po", "v1", "Pod"],
    ["pods", "v1", "Pod"],
    ["Pod", "v1", "Pod"],
    ["ns", "v1", "Namespace"],
    ["netpol", "networking.k8s.io/v1", "NetworkPolicy"],
    ["networkpolicies", "networking.k8s.io/v1", "NetworkPolicy"],
    ["networkpolicies.microseg.io", "microseg.io/v1", "NetworkPolicy"],
    ["networkpolicy.projectcalico.org", "microseg.io/v1", "NetworkPolicy"],
    ["networkpolicies.networking.k8s.io", "networking.k8s.io/v1", "NetworkPolicy"],
    ["cnp", "microseg.io/v1", "NetworkPolicy"],
    ["gnp", "microseg.io/v1", "GlobalNetworkPolicy"],
    ["tiers", "microseg.io/v1", "Tier"],
    ["anp", "policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"],
  ] as const) {
    it(`${word} is ${kind} (${apiVersion})`, () => {
      const info = resolveKind(word);
      assert.deepEqual([info.apiVersion, info.kind], [apiVersion, kind]);
    });
  }

  it("an unknown type gets kubectl's message", () => {
    assert.throws(
      () => resolveKind("widgets"),
      /the server doesn't have a resource type "widgets"/,
    );
    assert.throws(() => resolveKind("pods.microseg.io"), /resource type "pods.microseg.io"/);
  });

  it("alerts and flows, which are commands and not kinds, get a pointer to the command", () => {
    assert.throws(
      () => resolveKind("alerts"),
      /resource type "alerts" \(alerts raised: `microseg alerts`; the rules that raise them: `microseg get globalalerts`\)/,
    );
    assert.throws(
      () => resolveKind("flows"),
      /resource type "flows" \(flow records: `microseg flows`\)/,
    );
    assert.equal(resolveKind("globalalerts").kind, "GlobalAlert");
    assert.throws(() => resolveKind("constructor"), /resource type "constructor"$/);
  });

  it("TYPE NAME..., TYPE1,TYPE2 and TYPE/NAME forms", () => {
    const show = (args: string[]) =>
      parseTargets(args).map((t) => `${kindPrefix(t.kind)}:${t.names.join("+")}`);
    assert.deepEqual(show(["po", "a", "b"]), ["pod:a+b"]);
    assert.deepEqual(show(["po,netpol"]), ["pod:", "networkpolicy.networking.k8s.io:"]);
    assert.deepEqual(show(["pod/a", "gnp/g"]), ["pod:a", "globalnetworkpolicy.microseg.io:g"]);
    assert.throws(() => parseTargets(["pod/a", "b"]), /resource\/name form/);
  });
});

describe("AGE as kubectl prints it", () => {
  const S = 1000;
  const M = 60 * S;
  const H = 60 * M;
  const D = 24 * H;
  for (const [ms, text] of [
    [0, "0s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [3 * M + 20 * S, "3m20s"],
    [12 * M + 5 * S, "12m"],
    [179 * M, "179m"],
    [5 * H + 3 * M, "5h3m"],
    [20 * H, "20h"],
    [3 * D + 4 * H, "3d4h"],
    [40 * D, "40d"],
    [2 * 365 * D + 30 * D, "2y30d"],
    [9 * 365 * D, "9y"],
  ] as const) {
    it(`${ms} ms is ${text}`, () => assert.equal(humanDuration(ms), text));
  }
});

describe("tables", () => {
  it("pads every column but the last to its widest cell plus three spaces", () => {
    assert.equal(
      formatTable([
        ["NAME", "POD-SELECTOR", "AGE"],
        ["allow-web", "app=web", "5s"],
        ["x", "<none>", "10d"],
      ]),
      "NAME        POD-SELECTOR   AGE\nallow-web   app=web        5s\nx           <none>         10d\n",
    );
  });

  it("label selectors print as metav1.FormatLabelSelector does", () => {
    assert.equal(formatLabelSelector({}), "<none>");
    assert.equal(
      formatLabelSelector({
        matchLabels: { b: "2", a: "1" },
        matchExpressions: [
          { key: "t", operator: "In", values: ["x", "y"] },
          { key: "u", operator: "NotIn", values: ["z"] },
          { key: "v", operator: "Exists" },
          { key: "w", operator: "DoesNotExist" },
        ],
      }),
      "a=1,b=2,t in (x,y),u notin (z),v,!w",
    );
  });
});

describe("label changes", () => {
  it("k=v sets, k- removes", () => {
    const c = parseLabelChanges(["app=web", "tier=", "old-"]);
    assert.deepEqual(
      [...c.set],
      [
        ["app", "web"],
        ["tier", ""],
      ],
    );
    assert.deepEqual(c.remove, ["old"]);
  });

  it("a spec that is neither is refused, as is none at all", () => {
    assert.throws(() => parseLabelChanges(["app"]), /invalid label spec: app/);
    assert.throws(() => parseLabelChanges([]), /at least one label update/);
    assert.throws(() => parseLabelChanges(["a=1", "a-"]), /both modify and remove/);
  });
});

describe("--help", () => {
  it("every command and subcommand shows examples", async () => {
    const { Command } = await import("commander");
    const { registerCommands } = await import("../../src/cli/commands/index.ts");
    const program = new Command("microseg");
    await registerCommands(program);
    const all = (c: InstanceType<typeof Command>): InstanceType<typeof Command>[] =>
      c.commands.flatMap((sub) => [sub, ...all(sub)]);
    const commands = all(program);
    assert.ok(commands.length >= 12, "the verbs are registered");
    for (const command of commands) {
      let text = "";
      command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      command.outputHelp();
      assert.match(text, /Examples:\n {2}\S/, `${command.name()} --help has examples`);
    }
  });

  it("a named command loads alone; no command or an unknown one loads them all", async () => {
    const { Command } = await import("commander");
    const { registerCommands } = await import("../../src/cli/commands/index.ts");
    const names = async (args: string[]) => {
      const program = new Command("microseg");
      await registerCommands(program, args);
      return program.commands.map((c) => c.name());
    };
    assert.deepEqual(await names(["validate", "-f", "x.yaml"]), ["validate"]);
    assert.deepEqual(await names(["--no-color", "matrix"]), ["matrix"]);
    const all = await names(["--help"]);
    assert.ok(all.includes("agent") && all.includes("validate"), "help sees every command");
    assert.deepEqual(await names(["valdate"]), all, "a typo gets commander's suggestion");
  });
});
