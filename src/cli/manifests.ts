// `-f` for the verbs that send manifests to the server: files and directories as `validate`
// reads them, or `-` for standard input. Every problem is printed and nothing is sent.
import {
  formatManifestError,
  type LoadOptions,
  type LoadResult,
  loadManifests,
  parseManifests,
  type Resource,
} from "../model/index.ts";
import { CliError } from "./load.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function readManifestArgs(
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<Resource[]> {
  let result: LoadResult;
  if (paths.includes("-")) {
    if (paths.length > 1) throw new CliError("-f -: standard input cannot be combined with files");
    result = parseManifests(await readStdin(), "<stdin>", options);
  } else {
    result = await loadManifests(paths, options);
  }
  if (result.ok) return result.resources;
  for (const error of result.errors) console.error(formatManifestError(error));
  process.exit(1);
}
