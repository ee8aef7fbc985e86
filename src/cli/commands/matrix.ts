import type { Command } from "commander";
import {
  formatMatrix,
  formatSummary,
  type Matrix,
  type MatrixFilter,
  matrixStream,
  namespaceSummary,
  parsePortList,
  reachabilityMatrix,
  writeResultsJson,
} from "../../analysis/index.ts";
import { buildWorld } from "../../policy/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { CliError, loadOrExit, STRICT_HELP, tableOutputFormat } from "../load.ts";
import { formatObject } from "../output.ts";
import { matrixWide } from "../wide.ts";

interface MatrixFlags extends ConnectionFlags {
  filename?: string[];
  strict?: boolean;
  ports?: string;
  namespace?: string;
  from?: string;
  to?: string;
  output: string;
}

async function matrix(flags: MatrixFlags): Promise<void> {
  const summary = flags.output === "summary";
  const format = summary ? "text" : tableOutputFormat(flags.output);
  const ports = flags.ports !== undefined ? parsePortList(flags.ports) : undefined;
  const filter: MatrixFilter = {
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ...(flags.from !== undefined ? { from: flags.from } : {}),
    ...(flags.to !== undefined ? { to: flags.to } : {}),
  };
  let result: Matrix;
  if (flags.filename) {
    const world = buildWorld(await loadOrExit(flags.filename, { strict: flags.strict }));
    if (summary) {
      process.stdout.write(
        formatSummary(namespaceSummary(world.cluster, world.evaluator, ports, filter)),
      );
      return;
    }
    if (format === "json") {
      const stream = matrixStream(world.cluster, world.evaluator, ports, filter);
      writeResultsJson(stream, (text) => process.stdout.write(text));
      process.stdout.write("\n");
      return;
    }
    result = reachabilityMatrix(world.cluster, world.evaluator, ports, filter);
  } else {
    if (summary) throw new CliError("-o summary judges manifests: give -f");
    result = await connect(flags).matrix(ports, filter);
  }
  if (format === "text") process.stdout.write(formatMatrix(result));
  else if (format === "wide") process.stdout.write(matrixWide(result.results));
  else if (format === "json") console.log(JSON.stringify({ results: result.results }));
  else process.stdout.write(formatObject({ results: result.results }, "yaml"));
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
      .option("--strict", STRICT_HELP)
      .option(
        "--ports <list>",
        "ports to judge, e.g. 80/TCP,81/TCP,53/UDP (default: every declared container port)",
      )
      .option("-n, --namespace <name>", "only workloads in this namespace")
      .option("--from <selector>", "only sources matching this selector (Calico syntax)")
      .option("--to <selector>", "only destinations matching this selector")
      .option(
        "-o, --output <format>",
        "text, wide (a row per cell, each direction's verdict), json, yaml, or summary (allowed/denied counts per namespace pair; with -f)",
        "text",
      )
      .addHelpText(
        "after",
        `
Examples:
  microseg matrix
  microseg matrix --ports 8080/TCP,53/UDP -o json
  microseg matrix -f examples/segmented-apps --ports 8080/TCP
  microseg matrix -f dump.yaml -o summary
  microseg matrix -f examples/blue-ldap --ports 389/TCP -o wide
  microseg matrix -f dump.yaml -n shop --from "app == 'web'" --to "app == 'db'" -o json`,
      ),
  ).action(kubectlAction(matrix, 2));
}
