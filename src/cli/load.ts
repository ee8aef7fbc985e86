// Shared by every command that reads manifests (`-f` files, directories or `-` for standard
// input): load the set whole, warnings on stderr, or print every error and exit non-zero
// without doing anything else.
import { formatManifestError, loadManifests, type Resource } from "../model/index.ts";

/** `--strict`: kinds microseg does not read are errors instead of skipped with a warning. */
export const STRICT_HELP = "kinds microseg does not read are errors, not skipped with a warning";

export class CliError extends Error {
  readonly code = "cli.usage";
}

/**
 * `strict`: unknown kinds are errors; `namespace` (`-n`): the namespace of namespaced objects
 * naming none; `status`: the exit status for a set that does not load.
 */
export async function loadOrExit(
  paths: readonly string[],
  opts: { readonly strict?: boolean; readonly namespace?: string; readonly status?: number } = {},
): Promise<Resource[]> {
  const result = await loadManifests(paths, {
    strict: opts.strict ?? false,
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
  });
  if (result.ok) {
    for (const w of result.warnings) console.error(`warning: ${w.message}`);
    return result.resources;
  }
  for (const error of result.errors) console.error(formatManifestError(error));
  process.exit(opts.status ?? 1);
}

export type OutputFormat = "text" | "json" | "yaml";

export function outputFormat(value: string): OutputFormat {
  if (value === "text" || value === "json" || value === "yaml") return value;
  throw new CliError(`-o: "${value}" is not one of text, json, yaml`);
}

/** The offline commands' formats: kubectl's `wide` (a table with more columns) besides. */
export function tableOutputFormat(value: string): OutputFormat | "wide" {
  if (value === "wide") return value;
  if (value === "text" || value === "json" || value === "yaml") return value;
  throw new CliError(`-o: "${value}" is not one of text, wide, json, yaml`);
}
