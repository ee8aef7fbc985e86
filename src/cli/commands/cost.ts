import type { Command } from "commander";
import { cost, formatCost } from "../../analysis/index.ts";
import { type AnalysisInputFlags, analysisResources } from "../analysis-input.ts";
import { withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { outputFormat } from "../load.ts";
import { formatObject } from "../output.ts";

interface CostFlags extends AnalysisInputFlags {
  output: string;
  verdictMaps?: boolean;
}

async function costCommand(flags: CostFlags): Promise<void> {
  const format = outputFormat(flags.output);
  const report = cost(await analysisResources(flags), { verdictMaps: flags.verdictMaps === true });
  if (format === "json") console.log(JSON.stringify(report));
  else if (format === "yaml") process.stdout.write(formatObject(report, "yaml"));
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
        "--verdict-maps",
        "count the verdict-map fast path too (grows with identities x endpoints; slow on big sets)",
      )
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
nftables table the renderer writes for the same resources (without the verdict-map fast path,
a cache of the same verdicts, unless --verdict-maps). -o json lists the first 10,000 firewall
sets (firewallListTruncated says when there are more; the counts cover all).

Examples:
  microseg cost -f examples/segmented-apps
  microseg cost -o json`,
      ),
  ).action(kubectlAction(costCommand));
}
