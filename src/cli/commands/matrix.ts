import type { Command } from "commander";
import { stringify } from "yaml";
import { type Matrix, parsePortList, reachabilityMatrix } from "../../analysis/matrix.ts";
import { formatMatrix } from "../../analysis/matrix-text.ts";
import { buildWorld } from "../../policy/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { loadOrExit, outputFormat } from "../load.ts";

interface MatrixFlags extends ConnectionFlags {
  filename?: string[];
  ports?: string;
  output: string;
}

async function matrix(flags: MatrixFlags): Promise<void> {
  const format = outputFormat(flags.output);
  const ports = flags.ports !== undefined ? parsePortList(flags.ports) : undefined;
  let result: Matrix;
  if (flags.filename) {
    const world = buildWorld(await loadOrExit(flags.filename));
    result = reachabilityMatrix(world.cluster, world.evaluator, ports);
  } else {
    result = await connect(flags).matrix(ports);
  }
  if (format === "text") process.stdout.write(formatMatrix(result));
  else if (format === "json") console.log(JSON.stringify({ results: result.results }));
  else process.stdout.write(stringify({ results: result.results }));
}

export function registerMatrix(program: Command): void {
  withConnection(
    program
      .command("matrix")
      .description("who can reach whom: every ordered pair of workloads, for every port")
      .option(
        "-f, --filename <paths...>",
        "judge these manifests offline instead of the server's store",
      )
      .option(
        "--ports <list>",
        "ports to judge, e.g. 80/TCP,81/TCP,53/UDP (default: every declared container port)",
      )
      .option("-o, --output <format>", "text, json or yaml", "text")
      .addHelpText(
        "after",
        `
Examples:
  microseg matrix
  microseg matrix --ports 8080/TCP,53/UDP -o json
  microseg matrix -f examples/segmented-apps --ports 8080/TCP`,
      ),
  ).action(kubectlAction(matrix, 2));
}
