import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { DEFAULT_DATASTORE_URL, openDatastore } from "../../datastore/index.ts";
import { AlertmanagerSink, type AlertSink, JsonLinesSink, WebhookSink } from "../../flows/index.ts";
import {
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_PORT,
  type ServerOptions,
  startServer,
} from "../../server/index.ts";
import { CliError } from "../load.ts";

interface ServerFlags {
  datastore: string;
  listen: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  maxBody: string;
  maxApplyBody: string;
  logLevel: string;
  flowStore?: string;
  alertWebhook: string[];
  alertmanager: string[];
  alertLog?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Beside an SQLite store file (`DIR/flows.db`); in memory for any other datastore. */
export function defaultFlowStore(datastore: string): string {
  const m = /^sqlite:(.+)$/.exec(datastore);
  if (!m || m[1] === ":memory:") return ":memory:";
  return join(dirname(m[1] as string), "flows.db");
}

function httpUrl(flag: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`${flag}: "${text}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`${flag}: "${text}" is not an http:// or https:// URL`);
  return text;
}

/** The alert sinks the flags name; every one queues, so none slows ingest. */
export function alertSinks(f: Pick<ServerFlags, "alertWebhook" | "alertmanager" | "alertLog">) {
  const sinks: AlertSink[] = [];
  for (const u of f.alertWebhook)
    sinks.push(new WebhookSink({ url: httpUrl("--alert-webhook", u) }));
  for (const u of f.alertmanager)
    sinks.push(new AlertmanagerSink({ url: httpUrl("--alertmanager", u) }));
  if (f.alertLog) sinks.push(new JsonLinesSink());
  return sinks;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/** `127.0.0.1:7080`, `[::1]:7080`, `0.0.0.0:443`; `:7080` is every interface. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new CliError(`--listen: "${text}" is not HOST:PORT (127.0.0.1:7080, [::1]:7080)`);
  }
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : (m[2] as string));
  return { host, port };
}

const UNITS: Record<string, number> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** Bytes: `3145728`, `3Mi`, `512Ki`. */
export function parseBytes(flag: string, text: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(text);
  const n = m ? Number(m[1]) * (UNITS[m[2] ?? ""] as number) : 0;
  if (!m || n <= 0) throw new CliError(`${flag}: "${text}" is not a size such as 3Mi or 65536`);
  return n;
}

function readSecretFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
}

function serverOptions(f: ServerFlags): Omit<ServerOptions, "store"> {
  const { host, port } = parseListen(f.listen);
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) {
    throw new CliError("--tls-cert and --tls-key go together");
  }
  const level = LOG_LEVELS.find((l) => l === f.logLevel);
  if (!level)
    throw new CliError(`--log-level: "${f.logLevel}" is not one of ${LOG_LEVELS.join(", ")}`);
  let token: string | undefined;
  if (f.tokenFile !== undefined) {
    token = readSecretFile("--token-file", f.tokenFile).trim();
    if (token === "" || /\s/.test(token)) {
      throw new CliError(
        `--token-file: ${f.tokenFile} must hold one token (no spaces), and not be empty`,
      );
    }
  }
  return {
    host,
    port,
    ...(token !== undefined ? { token } : {}),
    ...(f.tlsCert && f.tlsKey
      ? {
          tls: {
            cert: readSecretFile("--tls-cert", f.tlsCert),
            key: readSecretFile("--tls-key", f.tlsKey),
          },
        }
      : {}),
    limits: {
      objectBytes: parseBytes("--max-body", f.maxBody),
      applyBytes: parseBytes("--max-apply-body", f.maxApplyBody),
    },
    logLevel: level,
    flows: { file: f.flowStore ?? defaultFlowStore(f.datastore), sinks: alertSinks(f) },
  };
}

export function registerServer(program: Command): void {
  program
    .command("server")
    .description(
      "run the API server over a datastore: Kubernetes-shaped paths, watch, kubectl-compatible",
    )
    .option(
      "--datastore <url>",
      "where resources live: sqlite:PATH, or etcd://HOST:PORT[,HOST:PORT][/PREFIX]",
      DEFAULT_DATASTORE_URL,
    )
    .option(
      "--listen <host:port>",
      "address to serve on; anything but loopback needs --token-file",
      `${DEFAULT_HOST}:${DEFAULT_PORT}`,
    )
    .option("--token-file <path>", "file holding the bearer token every request must carry")
    .option("--tls-cert <path>", "PEM certificate: serve HTTPS (with --tls-key)")
    .option("--tls-key <path>", "PEM private key of --tls-cert")
    .option(
      "--max-body <size>",
      "largest body of one object's write",
      `${DEFAULT_LIMITS.objectBytes / 1024 ** 2}Mi`,
    )
    .option(
      "--max-apply-body <size>",
      "largest body of a whole-set apply",
      `${DEFAULT_LIMITS.applyBytes / 1024 ** 2}Mi`,
    )
    .option("--log-level <level>", "JSON log level: error, warn, info, debug", "info")
    .option(
      "--flow-store <path>",
      "SQLite file of flow records and alerts (default: flows.db beside an sqlite datastore)",
    )
    .option("--alert-webhook <url>", "POST each alert as JSON here (repeatable)", collect, [])
    .option(
      "--alertmanager <url>",
      "send alerts to this Prometheus Alertmanager (v2 API; repeatable)",
      collect,
      [],
    )
    .option("--alert-log", "also print each alert as a JSON line on stdout")
    .addHelpText(
      "after",
      `
Examples:
  microseg server
  microseg server --datastore sqlite:/var/lib/microseg/store.db
  microseg server --datastore etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379
  microseg server --alertmanager http://127.0.0.1:9093 --alert-webhook https://hooks.example/ms
  microseg server --listen 0.0.0.0:7443 --token-file /etc/microseg/token \\
      --tls-cert /etc/microseg/tls.crt --tls-key /etc/microseg/tls.key
  kubectl --server http://127.0.0.1:7080 get networkpolicies -A`,
    )
    .action(async (f: ServerFlags) => {
      const opts = serverOptions(f);
      const store = await openDatastore(f.datastore);
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({ ...opts, store });
      } catch (e) {
        await store.close();
        throw e;
      }
      server.app.log.info({ url: server.url, datastore: f.datastore }, "serving");
      const stop = async () => {
        await server.close();
        await store.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
