// Where the analysis verbs (lint, cost, simulate, recommend) read resources: manifests given
// with -f, else every object of the API server's store at one revision.
import type { Resource } from "../model/index.ts";
import { type ConnectionFlags, connect } from "./connection.ts";
import { loadOrExit } from "./load.ts";

export interface AnalysisInputFlags extends ConnectionFlags {
  filename?: string[];
}

/** `unloadable`: the exit status when the manifests do not load. */
export async function analysisResources(
  flags: AnalysisInputFlags,
  unloadable = 1,
): Promise<Resource[]> {
  if (flags.filename) return loadOrExit(flags.filename, { status: unloadable });
  return [...(await connect(flags).snapshot()).items];
}
