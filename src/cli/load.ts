// Shared by the commands that read manifests: load the set whole, or print every error and
// exit non-zero without doing anything else.
import { formatManifestError, loadManifests, type Resource } from "../model/index.ts";

export class CliError extends Error {
  readonly code = "cli.usage";
}

/** `status`: the exit status for a set that does not load (lint's exit codes are its own). */
export async function loadOrExit(paths: readonly string[], status = 1): Promise<Resource[]> {
  const result = await loadManifests(paths);
  if (result.ok) {
    for (const w of result.warnings) console.error(`warning: ${w.message}`);
    return result.resources;
  }
  for (const error of result.errors) console.error(formatManifestError(error));
  process.exit(status);
}

export type OutputFormat = "text" | "json" | "yaml";

export function outputFormat(value: string): OutputFormat {
  if (value === "text" || value === "json" || value === "yaml") return value;
  throw new CliError(`-o: "${value}" is not one of text, json, yaml`);
}
