import type { Command } from "commander";
import { stringify } from "yaml";
import { parsePortList, reachabilityMatrix } from "../../analysis/matrix.ts";
import { formatMatrix } from "../../analysis/matrix-text.ts";
import { buildWorld } from "../../policy/index.ts";
import { loadOrExit, outputFormat } from "../load.ts";

export function registerMatrix(program: Command): void {
  program
    .command("matrix")
    .description("who can reach whom: every ordered pair of workloads, for every port")
    .requiredOption("-f, --filename <paths...>", "manifest files or directories")
    .option(
      "--ports <list>",
      "ports to judge, e.g. 80/TCP,81/TCP,53/UDP (default: every declared container port)",
    )
    .option("-o, --output <format>", "text, json or yaml", "text")
    .action(async (options: { filename: string[]; ports?: string; output: string }) => {
      const format = outputFormat(options.output);
      const ports = options.ports !== undefined ? parsePortList(options.ports) : undefined;
      const world = buildWorld(await loadOrExit(options.filename));
      const matrix = reachabilityMatrix(world.cluster, world.evaluator, ports);
      if (format === "text") process.stdout.write(formatMatrix(matrix));
      else if (format === "json") console.log(JSON.stringify({ results: matrix.results }));
      else process.stdout.write(stringify({ results: matrix.results }));
    });
}
