// Where simulate and recommend read recorded flows: a flow store file (`--flows PATH`, the
// SQLite FlowStore the agent or server writes), else the API server's `GET /api/v1/flows`.
import { existsSync } from "node:fs";
import { type FlowRecord, FlowStore } from "../flows/index.ts";
import { parseDuration } from "../model/index.ts";
import { type ConnectionFlags, connect } from "./connection.ts";
import { CliError } from "./load.ts";

export interface FlowInputFlags extends ConnectionFlags {
  flows?: string;
  since: string;
}

/** Every record of the window is read: the analyses need all of them, not a page. */
const MAX_RECORDS = 1_000_000;

export async function recordedFlows(flags: FlowInputFlags): Promise<FlowRecord[]> {
  const window = parseDuration(flags.since);
  if (window === undefined || window <= 0)
    throw new CliError(`--since: "${flags.since}" is not a duration such as 30m or 24h`);
  if (flags.flows === undefined)
    return connect(flags).flows({ since: flags.since, limit: MAX_RECORDS });
  // Opening a missing path would create an empty store and report nothing as "no flows".
  if (!existsSync(flags.flows)) throw new CliError(`--flows: ${flags.flows}: no such file`);
  const store = new FlowStore(flags.flows);
  try {
    return store.query({ since: Date.now() - window, limit: MAX_RECORDS });
  } finally {
    store.close();
  }
}
