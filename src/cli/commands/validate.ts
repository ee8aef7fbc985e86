import type { Command } from "commander";
import { formatManifestError, loadManifests } from "../../model/index.ts";
import { STRICT_HELP } from "../load.ts";

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check manifests: print every error, one per line; exit status 1 if any")
    .requiredOption(
      "-f, --filename <paths...>",
      "manifest files or directories (searched recursively for .yaml, .yml, .json)",
    )
    .option("--strict", STRICT_HELP)
    .option(
      "-n, --namespace <name>",
      "namespace of the namespaced objects that name none (default: default); an object naming another is an error",
    )
    .addHelpText(
      "after",
      `
Examples:
  microseg validate -f examples/
  microseg validate --strict -f repo/         # a ConfigMap or unknown CRD fails it
  microseg validate -f policies.yaml -f workloads/
  microseg validate -n shop -f shop/          # as kubectl apply -n shop would place them
  helm template chart/ | microseg validate -f -`,
    )
    .action(async (options: { filename: string[]; strict?: boolean; namespace?: string }) => {
      const result = await loadManifests(options.filename, {
        strict: options.strict === true,
        ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      });
      if (result.ok) {
        for (const w of result.warnings) console.error(`warning: ${w.message}`);
        const n = result.resources.length;
        console.log(`${n} ${n === 1 ? "object" : "objects"} valid`);
        return;
      }
      for (const error of result.errors) console.log(formatManifestError(error));
      process.exitCode = 1;
    });
}
