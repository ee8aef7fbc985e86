import type { Command } from "commander";
import {
  CHECKS,
  findingNamespace,
  formatFindings,
  lint,
  lintExitCode,
} from "../../analysis/index.ts";
import { type AnalysisInputFlags, analysisResources } from "../analysis-input.ts";
import { withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { tableOutputFormat } from "../load.ts";
import { formatObject } from "../output.ts";
import { lintWide } from "../wide.ts";

/** Exit statuses: by the worst finding (0, 1, 2); 3 when nothing could be linted. */
const CANNOT_LINT = 3;

interface LintFlags extends AnalysisInputFlags {
  output: string;
  namespace?: string;
}

/**
 * `-n` as kubectl reads it: with -f the namespace of objects naming none (as `validate -n`);
 * over the store, the whole store is judged (reach needs every namespace and global policy) and
 * only findings about objects in that namespace are printed.
 */
async function lintCommand(flags: LintFlags): Promise<void> {
  const format = tableOutputFormat(flags.output);
  const all = lint(await analysisResources(flags, CANNOT_LINT, flags.namespace));
  const findings =
    flags.filename || flags.namespace === undefined
      ? all
      : all.filter((f) => findingNamespace(f) === flags.namespace);
  if (format === "json") console.log(JSON.stringify({ findings }));
  else if (format === "yaml") process.stdout.write(formatObject({ findings }, "yaml"));
  else if (format === "wide") process.stdout.write(lintWide(findings));
  else process.stdout.write(formatFindings(findings));
  process.exitCode = lintExitCode(findings);
}

export function registerLint(program: Command): void {
  const checks = CHECKS.map((c) => `  ${c.id} (${c.severity}): ${c.summary}`).join("\n");
  withConnection(
    program
      .command("lint")
      .description("is this policy what I meant: findings with severity, object and field path")
      .option("-f, --filename <paths...>", "lint these manifests instead of the server's store")
      .option(
        "-n, --namespace <name>",
        "with -f: namespace of the namespaced objects that name none (an object naming another is an error); over the store: only findings about objects in this namespace",
      )
      .option(
        "-o, --output <format>",
        'text, wide (a table with the check id), json ({"findings": [...]}) or yaml',
        "text",
      )
      .addHelpText(
        "after",
        `
Exit status: 0 no finding (or info only), 1 warnings, 2 errors, 3 input that cannot be linted.

Checks:
${checks}

Examples:
  microseg lint -f examples/segmented-apps
  microseg lint -o json
  microseg lint -f repo/ -o wide
  microseg lint -n shop -f shop/              # as kubectl apply -n shop would place them
  microseg lint -n shop                       # the store judged whole, shop's findings only`,
      ),
  ).action(kubectlAction(lintCommand, CANNOT_LINT));
}
