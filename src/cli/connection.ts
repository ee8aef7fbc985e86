// How the verbs that talk to the API server find it: `--server` (or MICROSEG_SERVER, or the
// local default), a bearer token from `--token-file`, a private CA from
// `--certificate-authority`, as kubectl's flags of the same names.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ApiClient } from "../client/index.ts";
import { CliError } from "./load.ts";

export const DEFAULT_SERVER = "http://127.0.0.1:7080";

export interface ConnectionFlags {
  server?: string;
  tokenFile?: string;
  certificateAuthority?: string;
}

/** Adds the connection flags to a command that talks to the server. */
export function withConnection(command: Command): Command {
  return command
    .option("-s, --server <url>", `the API server (env MICROSEG_SERVER; default ${DEFAULT_SERVER})`)
    .option("--token-file <file>", "a file holding the bearer token the server requires")
    .option(
      "--certificate-authority <file>",
      "PEM file of the CA that signed the server's certificate",
    );
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new CliError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

export function connect(flags: ConnectionFlags): ApiClient {
  const server = flags.server ?? process.env.MICROSEG_SERVER ?? DEFAULT_SERVER;
  try {
    return new ApiClient({
      server,
      ...(flags.tokenFile ? { token: readFlagFile("--token-file", flags.tokenFile).trim() } : {}),
      ...(flags.certificateAuthority
        ? { ca: readFlagFile("--certificate-authority", flags.certificateAuthority) }
        : {}),
    });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`--server: ${(error as Error).message}`);
  }
}
