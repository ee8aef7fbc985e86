import type { Command } from "commander";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { objectName } from "../kinds.ts";
import { loadOrExit, STRICT_HELP } from "../load.ts";
import { progress } from "../progress.ts";

interface ApplyFlags extends ConnectionFlags {
  filename: string[];
  namespace?: string;
  strict?: boolean;
}

async function apply(flags: ApplyFlags): Promise<void> {
  const status = progress();
  status.phase("reading manifests");
  // Warnings (kinds skipped, namespaces implied) are printed as the offline commands print them.
  const resources = await loadOrExit(flags.filename, {
    strict: flags.strict === true,
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
  });
  const client = connect(flags);
  status.phase(`applying ${resources.length} objects to ${client.server} as one transaction`);
  const result = await client.applySet(resources).finally(() => status.done());
  for (const r of result.results) process.stdout.write(`${objectName(r)} ${r.action}\n`);
}

export function registerApply(program: Command): void {
  withConnection(
    program
      .command("apply")
      .description(
        "create or update every object of the manifests as one transaction: all of them or none",
      )
      .requiredOption(
        "-f, --filename <paths...>",
        "manifest files or directories (recursively .yaml, .yml, .json), or - for standard input",
      )
      .option(
        "-n, --namespace <name>",
        "namespace of the namespaced objects that name none; an object naming another is an error",
      )
      .option("--strict", STRICT_HELP)
      .addHelpText(
        "after",
        `
Prints each object as kind/name and what happened to it: created, configured or unchanged.
A single invalid object, a broken reference or a stale resourceVersion changes nothing.

Examples:
  microseg apply -f examples/
  microseg apply -f policies.yaml -f workloads.yaml
  microseg apply -n shop -f shop/            # objects without a namespace go to shop
  kubectl get netpol -A -o yaml | microseg apply -f -`,
      ),
  ).action(kubectlAction(apply));
}
