import type { Command } from "commander";
import { recommend } from "../../analysis/index.ts";
import { analysisResources } from "../analysis-input.ts";
import { withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { type FlowInputFlags, recordedFlows } from "../flow-input.ts";
import { outputFormat } from "../load.ts";
import { asList, formatObject } from "../output.ts";

interface RecommendFlags extends FlowInputFlags {
  filename?: string[];
  namespace?: string;
  output: string;
}

async function recommendCommand(flags: RecommendFlags): Promise<void> {
  const format = outputFormat(flags.output === "text" ? "yaml" : flags.output);
  const resources = await analysisResources(flags);
  const policies = recommend(resources, await recordedFlows(flags), {
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
  });
  process.stdout.write(formatObject(asList(policies), format === "json" ? "json" : "yaml"));
}

export function registerRecommend(program: Command): void {
  withConnection(
    program
      .command("recommend")
      .description(
        "least-privilege StagedNetworkPolicies from recorded flows, with the evidence in annotations",
      )
      .option(
        "-f, --filename <paths...>",
        "workloads from these manifests instead of the server's store",
      )
      .option("-n, --namespace <name>", "only policies for workloads of this namespace")
      .option("--flows <path>", "a flow store file (SQLite) instead of the server's recorded flows")
      .option("--since <duration>", "the window of recorded flows", "24h")
      .option("-o, --output <format>", "yaml or json (a List, ready to apply)", "yaml")
      .addHelpText(
        "after",
        `
Examples:
  microseg recommend -n shop --since 24h > staged.yaml && microseg apply -f staged.yaml
  microseg recommend -f examples/segmented-apps --flows flows.db`,
      ),
  ).action(kubectlAction(recommendCommand));
}
