import type { Command } from "commander";
import { stringify } from "yaml";
import { explainFlow, formatExplanation } from "../../analysis/explain.ts";
import { buildWorld, normalizeProtocol } from "../../policy/index.ts";
import { CliError, loadOrExit, outputFormat } from "../load.ts";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`--port: "${value}" is not 0-65535`);
  return n;
}

export function registerExplain(program: Command): void {
  program
    .command("explain")
    .description(
      "why a flow is allowed or denied: the tier, policy and rule deciding each direction",
    )
    .requiredOption("-f, --filename <paths...>", "manifest files or directories")
    .requiredOption("--from <peer>", "source: namespace/name of a workload, or an IP address")
    .requiredOption("--to <peer>", "destination: namespace/name of a workload, or an IP address")
    .requiredOption("--port <port>", "destination port", port)
    .option("--protocol <protocol>", "TCP, UDP, SCTP, ICMP or a number", "TCP")
    .option("-o, --output <format>", "text, json or yaml", "text")
    .action(
      async (options: {
        filename: string[];
        from: string;
        to: string;
        port: number;
        protocol: string;
        output: string;
      }) => {
        const format = outputFormat(options.output);
        const world = buildWorld(await loadOrExit(options.filename));
        const explanation = explainFlow(world, {
          from: options.from,
          to: options.to,
          port: options.port,
          protocol: normalizeProtocol(options.protocol),
        });
        if (format === "text") console.log(formatExplanation(explanation));
        else if (format === "json") console.log(JSON.stringify(explanation));
        else process.stdout.write(stringify(explanation));
      },
    );
}
