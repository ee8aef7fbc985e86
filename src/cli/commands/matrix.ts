import type { Command } from "commander";
import { stringify } from "yaml";
import {
  formatSummary,
  type MatrixFilter,
  namespaceSummary,
  parsePortList,
  reachabilityMatrix,
} from "../../analysis/matrix.ts";
import { formatMatrix } from "../../analysis/matrix-text.ts";
import { buildWorld } from "../../policy/index.ts";
import { loadOrExit, outputFormat } from "../load.ts";

interface MatrixOptions {
  filename: string[];
  ports?: string;
  namespace?: string;
  from?: string;
  to?: string;
  output: string;
}

export function registerMatrix(program: Command): void {
  program
    .command("matrix")
    .description("who can reach whom: every ordered pair of workloads, for every port")
    .requiredOption("-f, --filename <paths...>", "manifest files or directories")
    .option(
      "--ports <list>",
      "ports to judge, e.g. 80/TCP,81/TCP,53/UDP (default: every declared container port)",
    )
    .option("-n, --namespace <name>", "only workloads in this namespace")
    .option("--from <selector>", "only sources matching this selector (Calico syntax)")
    .option("--to <selector>", "only destinations matching this selector")
    .option(
      "-o, --output <format>",
      "text, json, yaml, or summary (allowed/denied counts per namespace pair)",
      "text",
    )
    .addHelpText(
      "after",
      `
Examples:
  microseg matrix -f examples/ --ports 8080/TCP
  microseg matrix -f dump.yaml -o summary
  microseg matrix -f dump.yaml -n shop --from "app == 'web'" --to "app == 'db'" -o json`,
    )
    .action(async (options: MatrixOptions) => {
      const summary = options.output === "summary";
      const format = summary ? "text" : outputFormat(options.output);
      const ports = options.ports !== undefined ? parsePortList(options.ports) : undefined;
      const filter: MatrixFilter = {
        ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
        ...(options.from !== undefined ? { from: options.from } : {}),
        ...(options.to !== undefined ? { to: options.to } : {}),
      };
      const world = buildWorld(await loadOrExit(options.filename));
      if (summary) {
        const rows = namespaceSummary(world.cluster, world.evaluator, ports, filter);
        process.stdout.write(formatSummary(rows));
        return;
      }
      const matrix = reachabilityMatrix(world.cluster, world.evaluator, ports, filter);
      if (format === "text") process.stdout.write(formatMatrix(matrix));
      else if (format === "json") console.log(JSON.stringify({ results: matrix.results }));
      else process.stdout.write(stringify({ results: matrix.results }));
    });
}
