// Where the analysis verbs (lint, cost, simulate, recommend) read resources: manifests given
// with -f, else every object of the API server's store at one revision.
import type { Resource } from "../model/index.ts";
import { type ConnectionFlags, connect } from "./connection.ts";
import { loadOrExit } from "./load.ts";

export interface AnalysisInputFlags extends ConnectionFlags {
  filename?: string[];
}

/**
 * `unloadable`: the exit status when the manifests do not load; `namespace` (`-n` where the
 * verb means kubectl's placement): the namespace of manifests' namespaced objects naming none.
 */
export async function analysisResources(
  flags: AnalysisInputFlags,
  unloadable = 1,
  namespace?: string,
): Promise<Resource[]> {
  if (flags.filename)
    return loadOrExit(flags.filename, {
      status: unloadable,
      ...(namespace !== undefined ? { namespace } : {}),
    });
  return [...(await connect(flags).snapshot()).items];
}
