import type { Command } from "commander";
import { stringify } from "yaml";
import { cost, formatCost } from "../../analysis/cost.ts";
import { type AnalysisInputFlags, analysisResources } from "../analysis-input.ts";
import { withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { outputFormat } from "../load.ts";

interface CostFlags extends AnalysisInputFlags {
  output: string;
}

async function costCommand(flags: CostFlags): Promise<void> {
  const format = outputFormat(flags.output);
  const report = cost(await analysisResources(flags));
  if (format === "json") console.log(JSON.stringify(report));
  else if (format === "yaml") process.stdout.write(stringify(report));
  else process.stdout.write(formatCost(report));
}

export function registerCost(program: Command): void {
  withConnection(
    program
      .command("cost")
      .description(
        "what these policies would cost as address pools and firewalls, against microseg's table",
      )
      .option("-f, --filename <paths...>", "judge these manifests instead of the server's store")
      .option(
        "-o, --output <format>",
        "text, json or yaml (pools, firewallSets, firewallRules, sets, rules, elements, ...)",
        "text",
      )
      .addHelpText(
        "after",
        `
Pool model: each distinct combination of policy memberships in a segment (namespace) is one
pool, a CIDR block sized for its replicas; each pool pair across segments with an allowed port
is one firewall rule set, one rule per allowed port. microseg: sets, rules and elements of the
nftables table the renderer writes for the same resources.

Examples:
  microseg cost -f examples/segmented-apps
  microseg cost -o json`,
      ),
  ).action(kubectlAction(costCommand));
}
