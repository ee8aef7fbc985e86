import type { Command } from "commander";
import { type Running, up } from "../../up/index.ts";
import { CliError } from "../load.ts";

interface UpFlags {
  filename?: string[];
  stateDir: string;
  listen: string;
  datastore?: string;
  tokenFile?: string;
  lab: boolean;
  examples: boolean;
  nodes: string;
  labId: string;
}

const DEFAULT_LISTEN = "127.0.0.1:7080";

function banner(r: Running, listen: string): string {
  const server = listen === DEFAULT_LISTEN ? "" : ` --server ${r.api}`;
  const lines = [
    "",
    "microseg is up",
    `  API       ${r.api}  (store ${r.datastore})`,
    `  web UI    ${r.api}/ui/`,
    r.lab
      ? `  enforced  ${r.lab.plan.nodes.length} nodes, ${r.lab.plan.pods.length} pods in a lab of network namespaces; an agent per node follows the API`
      : `  enforced  NOTHING: ${r.notEnforced}. The API, matrix and explain work; no packet is filtered.`,
  ];
  if (r.applied) lines.push(`  applied   ${r.applied.objects} objects from ${r.applied.from}`);
  lines.push(
    "",
    "Try:",
    `  npx microseg get pods -A${server}`,
    `  npx microseg get gnp,netpol -A${server}`,
    `  npx microseg matrix${server}`,
    `  npx microseg explain${server} --from directory/blue-web-0 --to directory/ldap-server-0 --port 389`,
    `  npx microseg describe pod -n directory ldap-server-0${server}`,
  );
  if (r.lab) {
    const stateDir = r.lab.files.dir.replace(/\/[^/]+$/, "");
    lines.push(
      `  sudo npx microseg lab probe --state-dir ${stateDir}`,
      "",
      "Flows and alerts, live (each node's agent ships them to the API):",
      `  npx microseg alerts --follow${server}`,
      `  npx microseg flows --follow${server}`,
      "  then, as a blue workload that is no LDAP client, open LDAP to a blue LDAP server:",
      `  sudo npx microseg lab probe --state-dir ${stateDir} --from directory/blue-web-0 --to directory/ldap-server-0 --ports 389/TCP`,
      "  it is blocked, and the blue-ldap-violation alert shows within a second.",
    );
  }
  lines.push("", "Ctrl-C stops everything (the store stays).", "");
  return lines.join("\n");
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description(
      "run microseg on this machine: the API server on a store, and (as root) a lab of network namespaces enforcing it",
    )
    .option("-f, --filename <paths...>", "manifests to apply at start (one transaction)")
    .option("--state-dir <dir>", "store, logs and lab live here", ".microseg")
    .option("--listen <host:port>", "the API's address", DEFAULT_LISTEN)
    .option(
      "--datastore <url>",
      "sqlite:PATH or etcd://HOST:PORT[,HOST:PORT][/PREFIX] (default sqlite:<state-dir>/store.db)",
    )
    .option("--token-file <path>", "bearer token the API requires (needed off loopback)")
    .option("--nodes <n>", "lab nodes", "2")
    .option("--lab-id <id>", "the lab's id, 1-8 of [a-z0-9]: its namespaces are ms-ID-…", "up")
    .option("--no-lab", "run the API server only: nothing is enforced")
    .option("--no-examples", "do not apply the examples to a new store")
    .addHelpText(
      "after",
      `
Examples:
  npm start                                  # = microseg up: examples, API, and the lab as root
  microseg up -f manifests/ --nodes 3        # your manifests, three lab nodes
  microseg up --no-lab --listen 127.0.0.1:8080
  microseg up --listen 0.0.0.0:7080 --token-file /etc/microseg/token`,
    )
    .action(async (f: UpFlags) => {
      const nodes = Number(f.nodes);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8)
        throw new CliError(`--nodes: "${f.nodes}" is not 1-8`);
      if (!/^[a-z0-9]{1,8}$/.test(f.labId))
        throw new CliError(`--lab-id: "${f.labId}" is not 1-8 of [a-z0-9]`);
      const running = await up({
        stateDir: f.stateDir,
        listen: f.listen,
        ...(f.datastore ? { datastore: f.datastore } : {}),
        ...(f.tokenFile ? { tokenFile: f.tokenFile } : {}),
        ...(f.filename ? { filenames: f.filename } : {}),
        examples: f.examples,
        lab: f.lab,
        nodes,
        labId: f.labId,
        say: (line) => console.error(`microseg: ${line}`),
      });
      process.stdout.write(banner(running, f.listen));
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          console.error(`microseg: ${signal}: stopping`);
          void running.stop().then(resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      process.exit(0);
    });
}
