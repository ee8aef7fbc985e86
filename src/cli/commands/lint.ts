import type { Command } from "commander";
import { stringify } from "yaml";
import { CHECKS, formatFindings, lint, lintExitCode } from "../../analysis/lint/index.ts";
import { type AnalysisInputFlags, analysisResources } from "../analysis-input.ts";
import { withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { tableOutputFormat } from "../load.ts";
import { lintWide } from "../wide.ts";

/** Exit statuses: by the worst finding (0, 1, 2); 3 when nothing could be linted. */
const CANNOT_LINT = 3;

interface LintFlags extends AnalysisInputFlags {
  output: string;
}

async function lintCommand(flags: LintFlags): Promise<void> {
  const format = tableOutputFormat(flags.output);
  const findings = lint(await analysisResources(flags, CANNOT_LINT));
  if (format === "json") console.log(JSON.stringify({ findings }));
  else if (format === "yaml") process.stdout.write(stringify({ findings }));
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
  microseg lint -f repo/ -o wide`,
      ),
  ).action(kubectlAction(lintCommand, CANNOT_LINT));
}
