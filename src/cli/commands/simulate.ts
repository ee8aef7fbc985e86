import type { Command } from "commander";
import { formatSimulation, simulate } from "../../analysis/index.ts";
import { analysisResources } from "../analysis-input.ts";
import { connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { type FlowInputFlags, recordedFlows } from "../flow-input.ts";
import { loadOrExit, outputFormat } from "../load.ts";
import { formatObject } from "../output.ts";

interface SimulateFlags extends FlowInputFlags {
  filename: string[];
  current?: string[];
  output: string;
}

async function simulateCommand(flags: SimulateFlags): Promise<void> {
  const format = outputFormat(flags.output);
  const change = await loadOrExit(flags.filename);
  // Live (no files for either input): the server judges the change on its store and flow
  // store, as the UI's preview does, rather than every record of the window crossing the wire.
  const result =
    flags.current === undefined && flags.flows === undefined
      ? await connect(flags).simulate(change, { since: flags.since })
      : simulate(
          await analysisResources({ ...flags, filename: flags.current }),
          change,
          await recordedFlows(flags),
        );
  if (format === "json") console.log(JSON.stringify(result));
  else if (format === "yaml") process.stdout.write(formatObject(result, "yaml"));
  else process.stdout.write(formatSimulation(result));
}

export function registerSimulate(program: Command): void {
  withConnection(
    program
      .command("simulate")
      .description(
        "what a change would break: recorded flows and matrix cells whose verdict changes",
      )
      .requiredOption(
        "-f, --filename <paths...>",
        "the change: objects that replace or add to the current set",
      )
      .option(
        "--current <paths...>",
        "the current set from these manifests instead of the server's store",
      )
      .option("--flows <path>", "a flow store file (SQLite) instead of the server's recorded flows")
      .option("--since <duration>", "the window of recorded flows", "24h")
      .option("-o, --output <format>", "text, json or yaml", "text")
      .addHelpText(
        "after",
        `
Examples:
  microseg simulate -f deny-db.yaml
  microseg simulate -f deny-db.yaml --current examples/segmented-apps --flows flows.db -o json`,
      ),
  ).action(kubectlAction(simulateCommand));
}
