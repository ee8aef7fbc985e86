import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { IpHostInterfaces } from "../../agent/host-interfaces.ts";
import {
  Agent,
  AgentFlows,
  type AgentFlowsPart,
  AgentMetrics,
  ApiOutlet,
  CniWorkloads,
  DisabledFlows,
  FileOutlet,
  flowsUnavailable,
  isLogLevel,
  jsonLogger,
  type Logger,
  latestStatusSender,
  listenCni,
} from "../../agent/index.ts";
import { ApiClient } from "../../client/index.ts";
import { KernelConntrack } from "../../dataplane/conntrack.ts";
import {
  DEFAULT_ENFORCEMENT,
  type EnforcementConfig,
  parseEndpointToHostAction,
  parseFailsafe,
} from "../../dataplane/nftables/index.ts";
import { DatastoreSource, ManifestSource, type ResourceSource } from "../../datastore/index.ts";
import {
  KubernetesSource,
  KubeTransport,
  loadKubeConfig,
} from "../../datastore/kubernetes/index.ts";
import { parseDuration } from "../../model/index.ts";
import { KernelNftables } from "../../nft/index.ts";
import { peerView } from "../../policy/index.ts";
import { CliError } from "../load.ts";

interface AgentFlags {
  node: string;
  filename?: string[];
  server?: string;
  datastore?: string;
  kubeconfig?: string;
  tokenFile?: string;
  netns?: string;
  table: string;
  resyncInterval: string;
  pollInterval: string;
  interfacePoll: string;
  readyFile?: string;
  statusFile?: string;
  workloadIface: string[];
  workloadCidr: string[];
  nflogGroup: string;
  failsafeIn: string;
  failsafeOut: string;
  endpointToHost: string;
  podIfacePrefix: string;
  sourceSpoofing: boolean;
  revokeDenied: boolean;
  logLevel: string;
  flows: boolean;
  flowSample: string;
  flowDir?: string;
  flowInterval: string;
  flowLog: string;
  nflogAllowGroup: string;
  counterInterval: string;
  cniSocket?: string;
  cniState?: string;
  metricsListen?: string;
}

/** `HOST:PORT` of --metrics-listen. */
function hostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(":");
  const host = text.slice(0, at).replace(/^\[|\]$/g, "");
  if (at <= 0 || host === "")
    throw new CliError(`--metrics-listen: "${text}" is not HOST:PORT, e.g. 127.0.0.1:9091`);
  return { host, port: integer("--metrics-listen", text.slice(at + 1), 0, 65535) };
}

/** The CNI plugin's socket needs interfaces to close: a new pod is dropped until enforced. */
function cniWorkloads(f: AgentFlags): CniWorkloads | undefined {
  if (f.cniSocket === undefined) {
    if (f.cniState !== undefined) throw new CliError("--cni-state needs --cni-socket");
    return undefined;
  }
  if (!f.cniSocket.startsWith("/"))
    throw new CliError(`--cni-socket: "${f.cniSocket}" is not an absolute path`);
  if (f.workloadIface.length === 0)
    throw new CliError(
      "--cni-socket needs --workload-iface: the bridge and its ports (e.g. cni0 'veth*'), so new pods are closed until enforced",
    );
  try {
    return new CniWorkloads(f.cniState ?? join(dirname(f.cniSocket), "cni-workloads.json"));
  } catch (e) {
    throw new CliError(`--cni-state: ${(e as Error).message}`);
  }
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new CliError(`${flag}: "${text}" is not a whole number from ${min} to ${max}`);
  return n;
}

interface FlowsChoice {
  /** NFLOG group and 1-in-N sample of allowed connections, when flows are on. */
  readonly allow?: { readonly group: number; readonly sample: number };
  readonly reason?: string;
}

/** Flows are on unless `--no-flows` or ulogd2 is missing; flag errors are found either way. */
function flowsChoice(f: AgentFlags, denyGroup: number): FlowsChoice {
  const sample = integer("--flow-sample", f.flowSample, 1, 1_000_000);
  const group = integer("--nflog-allow-group", f.nflogAllowGroup, 0, 65535);
  if (group === denyGroup)
    throw new CliError(`--nflog-allow-group: ${group} is the --nflog-group of Log and Deny rules`);
  if (!f.flows) return { reason: "flow logs turned off (--no-flows)" };
  const missing = flowsUnavailable();
  return missing ? { reason: missing } : { allow: { group, sample } };
}

function duration(flag: string, text: string): number {
  const ms = text === "0" ? 0 : parseDuration(text);
  if (ms === undefined) throw new CliError(`${flag}: "${text}" is not a duration such as 30s`);
  return ms;
}

/** Where the agent's resources come from: files, the API server, or the Kubernetes API. */
function agentSource(f: AgentFlags, client: ApiClient | undefined): ResourceSource {
  if (f.datastore !== undefined) {
    if (f.datastore !== "kubernetes")
      throw new CliError(
        `--datastore: "${f.datastore}" is not a datastore an agent follows (kubernetes)`,
      );
    if (f.filename !== undefined) throw new CliError("give -f or --datastore kubernetes, not both");
    try {
      return new KubernetesSource(
        new KubeTransport(loadKubeConfig(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {})),
        { project: (r) => peerView(r, f.node) },
      );
    } catch (e) {
      throw new CliError(`--datastore kubernetes: ${(e as Error).message}`);
    }
  }
  if ((f.filename === undefined) === (client === undefined))
    throw new CliError(
      "give either -f (manifest files), --server (an API server) or --datastore kubernetes",
    );
  // Other nodes' pods as peer views only, on the wire and held: what this node's enforcement
  // reads of them (the projection again, so an unchanged view never reaches the engine).
  if (client)
    return new DatastoreSource(client.forNode(f.node), { project: (r) => peerView(r, f.node) });
  return new ManifestSource(f.filename ?? [], {
    pollMs: duration("--poll-interval", f.pollInterval),
  });
}

function enforcement(f: AgentFlags, flows: FlowsChoice): EnforcementConfig {
  const group = nflogGroup(f);
  if (!/^[a-zA-Z0-9_-]{1,14}$/.test(f.podIfacePrefix))
    throw new CliError(
      `--pod-iface-prefix: "${f.podIfacePrefix}" is not 1-14 letters, digits, _ or -`,
    );
  let endpointToHostAction: EnforcementConfig["endpointToHostAction"];
  try {
    endpointToHostAction = parseEndpointToHostAction(f.endpointToHost);
  } catch (e) {
    throw new CliError(`--endpoint-to-host: ${(e as Error).message}`);
  }
  try {
    return {
      ...DEFAULT_ENFORCEMENT,
      endpointToHostAction,
      podInterfacePrefix: f.podIfacePrefix,
      workloadSourceSpoofing: f.sourceSpoofing,
      revokeDenied: f.revokeDenied,
      table: f.table,
      workloadInterfaces: f.workloadIface,
      workloadCidrs: f.workloadCidr,
      nflogGroup: group,
      ...(flows.allow
        ? { nflogAllowGroup: flows.allow.group, nflogAllowSample: flows.allow.sample }
        : {}),
      failsafeInbound: parseFailsafe(f.failsafeIn),
      failsafeOutbound: parseFailsafe(f.failsafeOut),
    };
  } catch (e) {
    throw new CliError(`--failsafe-in/--failsafe-out: ${(e as Error).message}`);
  }
}

function nflogGroup(f: AgentFlags): number {
  const group = Number(f.nflogGroup);
  if (!Number.isInteger(group) || group < 0 || group > 65535)
    throw new CliError(`--nflog-group: "${f.nflogGroup}" is not 0-65535`);
  return group;
}

function agentFlows(
  f: AgentFlags,
  choice: FlowsChoice,
  client: ApiClient | undefined,
  log: Logger,
): AgentFlowsPart {
  if (!choice.allow) return new DisabledFlows(choice.reason ?? "flow logs off");
  return new AgentFlows({
    dir: f.flowDir ?? `/run/microseg/flows/${f.node}`,
    ...(f.netns ? { netns: f.netns } : {}),
    groups: [nflogGroup(f), choice.allow.group],
    sample: choice.allow.sample,
    intervalMs: duration("--flow-interval", f.flowInterval),
    outlet: client ? new ApiOutlet({ node: f.node, receiver: client }) : new FileOutlet(f.flowLog),
    log,
  });
}

function apiClient(server: string, tokenFile: string | undefined): ApiClient {
  let token: string | undefined;
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, "utf8").trim();
    } catch (e) {
      throw new CliError(`--token-file: cannot read ${tokenFile}: ${(e as Error).message}`);
    }
  }
  return new ApiClient({ server, ...(token ? { token } : {}) });
}

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description(
      "enforce what the API server (or manifest files) hold on this node in nftables (table inet microseg), following every change",
    )
    .requiredOption("--node <name>", "this node's name: its pods and host endpoints get chains")
    .option("-f, --filename <paths...>", "manifest files or directories, watched")
    .option("--server <url>", "follow this API server instead of files (one watch of every kind)")
    .option(
      "--datastore <kind>",
      "kubernetes: follow the Kubernetes API (kubeconfig or in-cluster); --server then only receives status and flows",
    )
    .option(
      "--kubeconfig <path>",
      "kubeconfig for --datastore kubernetes (default: KUBECONFIG, ~/.kube/config, in-cluster)",
    )
    .option("--token-file <path>", "bearer token for --server")
    .option("--netns <name>", "run nft in this network namespace (ip netns)")
    .option("--table <name>", "nftables table (family inet)", DEFAULT_ENFORCEMENT.table)
    .option("--resync-interval <duration>", "drift check and repair period; 0 for none", "30s")
    .option("--poll-interval <duration>", "how often the manifest files are checked", "200ms")
    .option(
      "--interface-poll <duration>",
      "how often the node's addresses are read besides on `ip monitor` events (binds host endpoints found by expectedIPs)",
      "10s",
    )
    .option("--ready-file <path>", "written once the first full sync is applied")
    .option("--status-file <path>", "JSON status, rewritten after every apply")
    .option(
      "--workload-iface <pattern...>",
      "interfaces leading to local workloads (nft wildcard, e.g. 'veth*')",
      [],
    )
    .option("--workload-cidr <cidr...>", "workload address ranges, closed until the first sync", [])
    .option("--nflog-group <n>", "NFLOG group of Log and Deny rules", "1")
    .option("--failsafe-in <ports>", "always open into the node", "tcp:22,tcp:2379-2380")
    .option("--failsafe-out <ports>", "always open out of the node", "tcp:2379-2380,udp:53")
    .option(
      "--endpoint-to-host <action>",
      "workload traffic to the node itself after its egress policy: Drop, Accept or Return (to host endpoint policy)",
      "Drop",
    )
    .option(
      "--pod-iface-prefix <prefix>",
      "pods' host-side interfaces are <prefix> + sha1(<namespace>.<pod>), as Calico's CNI plugin names them",
      DEFAULT_ENFORCEMENT.podInterfacePrefix,
    )
    .option(
      "--source-spoofing",
      "let workloads send from their allowSpoofedSourcePrefixes (Felix's WorkloadSourceSpoofing: Any)",
      false,
    )
    .option(
      "--revoke-denied",
      "after each update, cut tracked connections of local workloads that policy now denies",
      false,
    )
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .option("--no-flows", "no flow logs (on by default when ulogd2 is installed)")
    .option(
      "--flow-sample <n>",
      "log allowed new connections 1 in n (denies and Log rules always)",
      "1",
    )
    .option("--nflog-allow-group <n>", "NFLOG group of allowed connections' logs", "2")
    .option(
      "--flow-dir <path>",
      "ulogd2's config, output and log (default /run/microseg/flows/NODE)",
    )
    .option("--flow-interval <duration>", "flow records are aggregated per interval", "15s")
    .option(
      "--flow-log <path>",
      "with -f: flow records and alerts as JSON lines to this file (- for stdout)",
      "-",
    )
    .option(
      "--counter-interval <duration>",
      "how often policy counters are read into the status; 0 for never",
      "10s",
    )
    .option(
      "--cni-socket <path>",
      "serve microseg's CNI plugin on this unix socket (root only, mode 0600)",
    )
    .option(
      "--cni-state <path>",
      "where reported sandboxes are kept across restarts (default: cni-workloads.json beside the socket)",
    )
    .option("--metrics-listen <host:port>", "serve Prometheus metrics at http://HOST:PORT/metrics")
    .addHelpText(
      "after",
      `
Examples:
  sudo microseg agent --node node-1 --server http://127.0.0.1:7080 --workload-iface 'cali*'
  sudo microseg agent --node node-1 -f manifests/ --status-file /run/microseg/status.json
  microseg agent --node "$NODE_NAME" --datastore kubernetes   (in the DaemonSet of deploy/)`,
    )
    .action(async (f: AgentFlags) => {
      if (!isLogLevel(f.logLevel))
        throw new CliError(`--log-level: "${f.logLevel}" is not debug, info, warn or error`);
      const log = jsonLogger({ level: f.logLevel, base: { node: f.node } });
      const client = f.server ? apiClient(f.server, f.tokenFile) : undefined;
      const source = agentSource(f, client);
      const choice = flowsChoice(f, nflogGroup(f));
      if (choice.reason) log.warn(choice.reason);
      const workloads = cniWorkloads(f);
      const listen = f.metricsListen === undefined ? undefined : hostPort(f.metricsListen);
      const metrics = new AgentMetrics();
      const agent = new Agent({
        node: f.node,
        source,
        nft: new KernelNftables(f.netns ? { netns: f.netns } : {}),
        conntrack: new KernelConntrack(f.netns ? { netns: f.netns } : {}),
        enforcement: enforcement(f, choice),
        flows: agentFlows(f, choice, client, log),
        countersIntervalMs: duration("--counter-interval", f.counterInterval),
        log,
        resyncIntervalMs: duration("--resync-interval", f.resyncInterval),
        hostInterfaces: new IpHostInterfaces({
          ...(f.netns ? { netns: f.netns } : {}),
          workloadInterfaces: f.workloadIface,
          pollMs: duration("--interface-poll", f.interfacePoll),
        }),
        ...(f.readyFile ? { readyFile: f.readyFile } : {}),
        ...(f.statusFile ? { statusFile: f.statusFile } : {}),
        ...(workloads
          ? {
              cni: {
                workloads,
                onEnforced: (s: number) => metrics.cniAddToEnforced.observe(s),
              },
            }
          : {}),
      });
      if (client) {
        agent.onStatus(
          latestStatusSender(
            (status) => client.putAgentStatus(status),
            (error) => log.debug("status not reported to the API server", { error }),
          ),
        );
      }
      // The table outlives the agent: stopping leaves the kernel enforcing the last state.
      const stop = (signal: string) => {
        log.info("stopping; the ruleset stays in place", { signal });
        void agent.stop().then(() => process.exit(0));
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      process.on("SIGHUP", () => void agent.checkDrift());
      try {
        if (listen) {
          const { port } = await metrics.listen(listen.host, listen.port);
          log.info("metrics listening", { host: listen.host, port });
        }
        await agent.start();
        if (f.cniSocket)
          await listenCni(f.cniSocket, agent, log, (op, a) =>
            metrics.cniRequests.inc({ op, result: a.ok ? "ok" : String(a.code) }),
          );
      } catch (e) {
        log.error("cannot start", { error: e });
        process.exit(1);
      }
    });
}
